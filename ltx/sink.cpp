#include "ltx/sink.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ltx/error.h"

namespace ltxvfs::ltx {

void VectorSink::write(std::span<const std::uint8_t> bytes) {
  bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
}

void FdSink::write(std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw LtxError(LtxErrorKind::kIo, name_,
                     std::string("write failed: ") + std::strerror(errno));
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
}

void BufferedSink::write(std::span<const std::uint8_t> bytes) {
  if (buffer_.size() + bytes.size() > buffer_.capacity()) {
    flush();
    if (bytes.size() >= buffer_.capacity()) {
      inner_.write(bytes);
      return;
    }
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

void BufferedSink::flush() {
  if (buffer_.empty()) return;
  inner_.write(buffer_);
  buffer_.clear();
}

}  // namespace ltxvfs::ltx
