// Where the decoder reads from: random access by offset, so the same interface serves a local
// file, a buffer, and (in storage/) ranged reads of a remote object.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ltxvfs::ltx {

class Source {
 public:
  virtual ~Source() = default;
  virtual std::uint64_t size() const = 0;
  // Fills all of `out` from `offset`, or throws (kTruncated if the range passes the end, kIo on
  // a failed read).
  virtual void read_at(std::uint64_t offset, std::span<std::uint8_t> out) const = 0;
};

// Reads from bytes the caller keeps alive.
class MemorySource final : public Source {
 public:
  explicit MemorySource(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::uint64_t size() const override { return bytes_.size(); }
  void read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override;

 private:
  std::span<const std::uint8_t> bytes_;
};

// Reads a POSIX file descriptor with pread (not owned; its size is taken once, at construction,
// since an LTX file is immutable once written).
class FdSource final : public Source {
 public:
  explicit FdSource(int fd, std::string name = {});
  std::uint64_t size() const override { return size_; }
  void read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override;

 private:
  int fd_;
  std::string name_;
  std::uint64_t size_ = 0;
};

// A source plus the name its errors should carry; what the compactor and applier take.
struct NamedSource {
  const Source* source = nullptr;
  std::string name;
};

// Reads a whole file into memory (tests, tools). Throws kIo naming `path`.
std::vector<std::uint8_t> read_file(const std::string& path);

}  // namespace ltxvfs::ltx
