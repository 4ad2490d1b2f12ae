// BufferedFdSink: the builder's appends to a spool record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/posix_file.h"
#include "ltx/sink.h"

namespace ltxvfs::writer {

// Appends to a spool record through a buffer: a small batch costs one write(), a full file of a
// large database streams in 1 MiB writes without being held in memory. The buffer is the
// builder's, reused from batch to batch.
class BufferedFdSink final : public ltx::Sink {
 public:
  BufferedFdSink(int fd, std::string name, std::vector<uint8_t>& buffer)
      : fd_(fd), name_(std::move(name)), buffer_(buffer) {
    buffer_.clear();
  }
  void write(std::span<const uint8_t> bytes) override {
    if (buffer_.size() + bytes.size() > kCapacity) flush();
    if (bytes.size() >= kCapacity) {
      base::write_all(fd_, bytes, name_);
    } else {
      buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    }
  }
  void flush() {
    base::write_all(fd_, buffer_, name_);
    buffer_.clear();
  }

 private:
  // 256 KiB: large enough that a write is a few hundred pages; small, because the writer's memory
  // over plain SQLite is bounded (issue 9).
  static constexpr size_t kCapacity = 256u << 10;
  int fd_;
  std::string name_;
  std::vector<uint8_t>& buffer_;
};

}  // namespace ltxvfs::writer
