#include "ltx/sequential_reader.h"

#include <algorithm>

#include "ltx/error.h"

namespace ltxvfs::ltx {
SequentialReader::SequentialReader(const Source& source, std::uint64_t start,
                                   std::string_view file_name, std::size_t chunk)
    : source_(source), name_(file_name), size_(source.size()), pos_(start), chunk_(chunk) {}

std::span<const std::uint8_t> SequentialReader::peek(std::size_t n) {
  n = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining()));
  if (pos_ < buf_offset_ || pos_ + n > buf_offset_ + buf_len_) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(std::max(n, chunk_), remaining()));
    if (buf_.size() < want) buf_.resize(want);
    source_.read_at(pos_, std::span(buf_).first(want));
    buf_offset_ = pos_;
    buf_len_ = want;
  }
  return std::span<const std::uint8_t>(buf_).subspan(static_cast<std::size_t>(pos_ - buf_offset_),
                                                     n);
}

std::span<const std::uint8_t> SequentialReader::read(std::size_t n, std::string_view what) {
  if (n > remaining()) {
    throw LtxError(LtxErrorKind::kTruncated, name_,
                   "file ends at byte " + std::to_string(size_) + " while reading " +
                       std::string(what) + " at offset " + std::to_string(pos_) + " (" +
                       std::to_string(n) + " bytes needed)");
  }
  auto bytes = peek(n);
  consume(n);
  return bytes;
}

}  // namespace ltxvfs::ltx
