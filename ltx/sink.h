// Where the encoder writes. A Sink takes bytes in order; the encoder hands it whole frames, so
// an unbuffered file sink costs one write() per page.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace ltxvfs::ltx {

class Sink {
 public:
  virtual ~Sink() = default;
  // Writes all of `bytes` or throws.
  virtual void write(std::span<const std::uint8_t> bytes) = 0;
};

// Collects the file in memory.
class VectorSink final : public Sink {
 public:
  void write(std::span<const std::uint8_t> bytes) override;
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

// Appends to a POSIX file descriptor at its current position (the fd is not owned). Retries
// short writes and EINTR; throws LtxError(kIo) naming `name` otherwise. No fsync: durability is
// the caller's decision.
class FdSink final : public Sink {
 public:
  explicit FdSink(int fd, std::string name = {}) : fd_(fd), name_(std::move(name)) {}
  void write(std::span<const std::uint8_t> bytes) override;

 private:
  int fd_;
  std::string name_;
};

// Collects writes into `capacity`-byte chunks before passing them on, so a file sink costs one
// write() per chunk instead of one per page. flush() must be called after the last write (the
// destructor does not: it cannot report a failure).
class BufferedSink final : public Sink {
 public:
  explicit BufferedSink(Sink& inner, std::size_t capacity = 1 << 20) : inner_(inner) {
    buffer_.reserve(capacity);
  }
  void write(std::span<const std::uint8_t> bytes) override;
  void flush();

 private:
  Sink& inner_;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace ltxvfs::ltx
