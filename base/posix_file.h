// Small RAII helpers over POSIX files for the spool and the state file.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ltxvfs::base {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Files the replicator creates beside a database (spool, state, lock, the default replica) get the
// database file's own permission bits, as SQLite does for -wal and -shm: a 0600 database must not
// leave 0644 copies of its pages next to it. Directories get the matching execute bits.
inline constexpr uint32_t kDefaultFileMode = 0644;
uint32_t directory_mode(uint32_t file_mode);  // 0600 -> 0700, 0640 -> 0750, 0644 -> 0755
// The permission bits of an existing file (kDefaultFileMode when it cannot be read).
uint32_t file_mode_of(const std::string& path);
// Creates (O_CREAT | extra_flags) or opens `path`; a file it creates gets exactly `mode`,
// whatever the umask. Throws naming `what` on failure.
Fd create_file(const std::string& path, int extra_flags, uint32_t mode, const std::string& what);

// Throws std::system_error naming `what` and `path`.
[[noreturn]] void throw_errno(const std::string& what, const std::string& path);

// Creates `path` and missing parents with directory_mode(file_mode), whatever the umask.
void make_directories(const std::string& path, uint32_t file_mode = kDefaultFileMode);
// A file or a directory. With `skip_unreadable`, one this process may not open (a directory with
// write and search permission but no read) is left alone, as SQLite leaves a database's
// directory it cannot open for its directory sync; a failed fsync throws either way.
void fsync_path(const std::string& path, bool skip_unreadable = false);
void write_all(int fd, std::span<const uint8_t> data, const std::string& path);
// Starts writing `fd`'s dirty pages in [offset, offset + length) (length 0: to the end of the
// file) to the disk, without waiting (Linux's sync_file_range(SYNC_FILE_RANGE_WRITE); elsewhere it
// does nothing). Written whole and then fsynced, a restored 123 MB database waited 50-74 ms here
// for its fsync; with writeback started as it was written, 1-3 ms. Durability still comes only from
// the fsync, which also reports any write error: this one's result is ignored.
void start_writeback(int fd, uint64_t offset = 0, uint64_t length = 0);
// How often a large file being written (a restore, a hydration) starts its writeback: often
// enough that little is left for the fsync, in pieces large enough for the disk.
inline constexpr uint64_t kWritebackEvery = 4u << 20;
// Starts a file's writeback each time kWritebackEvery bytes were written to it, as told by
// wrote() from any number of threads. The count takes no lock: one lost to a race only delays the
// next start.
class WritebackPacer {
 public:
  void wrote(int fd, uint64_t bytes) {
    if (unwritten_.fetch_add(bytes) + bytes >= kWritebackEvery) {
      unwritten_ = 0;
      start_writeback(fd);
    }
  }

 private:
  std::atomic<uint64_t> unwritten_{0};
};
// All of `data` at `offset` (pwrite, retried when short or interrupted); throws naming `path`.
void pwrite_all(int fd, uint64_t offset, std::span<const uint8_t> data, const std::string& path);
// Reads up to out.size() bytes at offset; returns the count (short only at EOF).
size_t pread_full(int fd, uint64_t offset, std::span<uint8_t> out, const std::string& path);
// temp file in the same directory + rename; with `durable`, fsync the file and the directory.
void write_file_atomically(const std::string& path, std::span<const uint8_t> data, bool durable,
                           uint32_t mode = kDefaultFileMode);
std::vector<uint8_t> read_file(const std::string& path);
std::string directory_of(const std::string& path);

}  // namespace ltxvfs::base
