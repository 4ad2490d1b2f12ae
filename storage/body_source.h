// BodySource: the body of a PUT that need not be in memory — a byte range of a file (a spooled
// record, a compacted file written to a temporary file), or bytes already in memory. A PUT may be
// retried, so a source must return the same bytes every time it is read.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace ltxvfs::storage {

class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual uint64_t size() const = 0;
  // Fills `out` with bytes [offset, offset + out.size()) of the body. Throws StoreError (kIo)
  // naming the underlying file when they cannot be read.
  virtual void read_at(uint64_t offset, std::span<uint8_t> out) const = 0;
  // For messages: what the body is ("spool log x, TXID 5-9").
  virtual std::string describe() const = 0;
};

// Bytes the caller keeps alive for as long as the source is used.
class MemoryBody final : public BodySource {
 public:
  explicit MemoryBody(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  void read_at(uint64_t offset, std::span<uint8_t> out) const override;
  std::string describe() const override { return "a request body in memory"; }

 private:
  std::span<const uint8_t> bytes_;
};

// [offset, offset + length) of an open file descriptor, which the caller keeps open. Reads with
// pread, so several sources may share one descriptor.
class FileRangeBody final : public BodySource {
 public:
  FileRangeBody(int fd, uint64_t offset, uint64_t length, std::string name)
      : fd_(fd), offset_(offset), length_(length), name_(std::move(name)) {}
  uint64_t size() const override { return length_; }
  void read_at(uint64_t offset, std::span<uint8_t> out) const override;
  std::string describe() const override { return name_; }

 private:
  int fd_;
  uint64_t offset_;
  uint64_t length_;
  std::string name_;
};

}  // namespace ltxvfs::storage
