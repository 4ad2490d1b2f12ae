#include "ltx/source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ltx/error.h"

namespace ltxvfs::ltx {
namespace {

[[noreturn]] void io_error(std::string_view name, const char* what) {
  throw LtxError(LtxErrorKind::kIo, name, std::string(what) + ": " + std::strerror(errno));
}

void check_range(std::uint64_t offset, std::size_t length, std::uint64_t size,
                 std::string_view name) {
  if (offset > size || length > size - offset) {
    throw LtxError(LtxErrorKind::kTruncated, name,
                   "read of " + std::to_string(length) + " bytes at offset " +
                       std::to_string(offset) + " passes the end of the file (" +
                       std::to_string(size) + " bytes)");
  }
}

}  // namespace

void MemorySource::read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
  check_range(offset, out.size(), bytes_.size(), {});
  std::memcpy(out.data(), bytes_.data() + offset, out.size());
}

FdSource::FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) io_error(name_, "fstat failed");
  size_ = static_cast<std::uint64_t>(st.st_size);
}

void FdSource::read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
  check_range(offset, out.size(), size_, name_);
  while (!out.empty()) {
    const ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error(name_, "read failed");
    }
    if (n == 0) {
      throw LtxError(LtxErrorKind::kTruncated, name_,
                     "file shrank while being read (end at offset " + std::to_string(offset) + ")");
    }
    out = out.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) io_error(path, "open failed");
  try {
    FdSource src(fd, path);
    std::vector<std::uint8_t> bytes(src.size());
    src.read_at(0, bytes);
    ::close(fd);
    return bytes;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

}  // namespace ltxvfs::ltx
