// Private to FileStore (storage/file_store*.cpp): the POSIX steps the directory store is made of
// — reserved names, directories created with an exact mode, temporary files written and fsynced
// beside their target, etags from stat — and the lock that orders conditional puts. Split out so
// that the put, get and list files share them; nothing outside FileStore includes this.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/posix_file.h"
#include "storage/body_source.h"
#include "storage/cancellation.h"
#include "storage/file_store.h"
#include "storage/object_store.h"
#include "storage/store_stats.h"

namespace ltxvfs::storage {
namespace file_io {

inline constexpr const char* kReservedPrefix = ".ltxvfs";
inline constexpr const char* kLockName = ".ltxvfs-lock";
inline constexpr const char* kMetaDir = ".ltxvfs-meta";
inline constexpr const char* kTempPrefix = ".ltxvfs-tmp-";

inline bool is_reserved(std::string_view name) {
  return name.rfind(kReservedPrefix, 0) == 0;
}

// Removes a temporary file unless it was published.
class TempFile {
 public:
  TempFile() = default;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  void set(std::string path) { path_ = std::move(path); }
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

std::string dirname_of(const std::string& path);
std::string etag_of(const struct stat& st);
int64_t mtime_ms(const struct stat& st);
// The clock a local file system stamps mtimes with: the kernel's realtime clock, read with the
// system call itself (not through libc, which a process may interpose). With mtime_ms, an
// object's age on one clock (history/writer_lease.h judges leases by it). On a network file
// system the server stamps mtimes: ages are then off by the server's clock offset.
int64_t file_system_now_ms();

// These return errno, or 0.
int fsync_dir(const std::string& dir);
// mkdir -p with `mode` for each directory it creates (existing ones are left as they are),
// fsyncing each parent that gained an entry so the new directories survive a crash (unless
// `durable` is false: then a crash may lose them, and what was written in them; those parents
// are appended to `unsynced` when given, for a later durable write to sync).
int ensure_dirs(const std::string& dir, mode_t mode, bool durable = true,
                std::vector<std::string>* unsynced = nullptr);
// Creates a new file in `dir` with exactly `mode`, holding `body`, fsynced unless `durable` is
// false. Copies the body in chunks (memory stays bounded however large it is) and looks at
// `cancel` between them. Returns errno or 0; throws the body's own StoreError when it cannot be
// read, and kCancelled.
int write_temp(const std::string& dir, const BodySource& body, mode_t mode,
               const Cancellation* cancel, const std::string& operation, TempFile& temp,
               struct stat* st, bool durable = true);

// Throws the StoreError for errno `err`: "<subject>: <what>: <strerror>", its kind (access
// denied, not found, else I/O) and, for permissions, read-only or full disks, what to do.
[[noreturn]] void throw_errno(const std::string& subject, const std::string& what, int err);

// Counts a failure when a public operation ends in a StoreError that is one
// (StoreError::counts_as_failure).
template <typename F>
auto counted(StoreStats& stats, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const StoreError& e) {
    if (e.counts_as_failure()) StoreStats::add(stats.failures);
    throw;
  }
}

}  // namespace file_io

// An flock() on <root>/.ltxvfs-lock, held for the object's lifetime. Each Lock opens its own
// descriptor: flock locks belong to the open file description, so two threads of one process
// exclude each other just as two processes do.
class FileStore::Lock {
 public:
  // `operation` is LOCK_EX or LOCK_SH.
  Lock(const FileStore& store, int operation);

 private:
  base::Fd fd_;
};

}  // namespace ltxvfs::storage
