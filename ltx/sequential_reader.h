// Forward-only buffered reading over a Source, for walking a file front to back in large reads
// (one read_at per 256 KiB rather than one per field). Internal to the decoder and legacy check.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ltx/source.h"

namespace ltxvfs::ltx {

class SequentialReader {
 public:
  // Reads ahead `chunk` bytes at a time (more only when one peek() needs more).
  static constexpr std::size_t kDefaultChunk = 256 * 1024;
  SequentialReader(const Source& source, std::uint64_t start, std::string_view file_name,
                   std::size_t chunk = kDefaultChunk);

  std::uint64_t position() const { return pos_; }
  std::uint64_t remaining() const { return size_ - pos_; }

  // Up to `n` bytes from the current position, not consumed; fewer only at the end of the file.
  // Valid until the next call.
  std::span<const std::uint8_t> peek(std::size_t n);
  void consume(std::size_t n) { pos_ += n; }
  // Exactly `n` bytes, consumed; kTruncated saying it was reading `what` if the file ends first.
  std::span<const std::uint8_t> read(std::size_t n, std::string_view what);

 private:
  const Source& source_;
  std::string name_;
  std::uint64_t size_;
  std::uint64_t pos_;
  std::size_t chunk_;
  std::vector<std::uint8_t> buf_;
  std::uint64_t buf_offset_ = 0;  // file offset of buf_[0]
  std::size_t buf_len_ = 0;       // valid bytes in buf_
};

}  // namespace ltxvfs::ltx
