#include "vfs/shim/refused_open.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "base/mutex.h"

namespace ltxvfs::vfs {
namespace {

struct LastRefusal {
  base::Mutex mu;
  std::optional<std::string> reason GUARDED_BY(mu);
};

LastRefusal& last_refusal() {
  static auto* refusal = new LastRefusal();  // never destroyed: opens may run during exit
  return *refusal;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found;
}

}  // namespace

void remember_refused_open(const std::string& reason) {
  LastRefusal& r = last_refusal();
  base::MutexLock lock(r.mu);
  r.reason = reason;
}

std::optional<std::string> last_refused_open() {
  LastRefusal& r = last_refusal();
  base::MutexLock lock(r.mu);
  return r.reason;
}

OpenFootprint::OpenFootprint(std::string db_path) : db_path_(std::move(db_path)) {
  db_existed_ = exists(db_path_);
  wal_existed_ = exists(db_path_ + "-wal");
  shm_existed_ = exists(db_path_ + "-shm");
  sidecar_existed_ = exists(db_path_ + "-ltx");
}

void OpenFootprint::undo() const noexcept {
  if (db_existed_ && wal_existed_ && shm_existed_ && sidecar_existed_) return;
  // A writer that holds the database's lock (this process's other connections, or a process
  // that opened the same new database meanwhile) is using these files: leave them.
  const std::string lock_path = db_path_ + "-ltx/lock";
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return;
  }
  // Held (when the file exists) while removing, so no writer starts on half-removed files.
  std::error_code ec;
  if (!db_existed_) {
    // Beside a database that was already there, a -wal or -shm may be another (non-ltx)
    // process's: only those of a database this open created go with it.
    std::filesystem::remove(db_path_, ec);
    if (!wal_existed_) std::filesystem::remove(db_path_ + "-wal", ec);
    if (!shm_existed_) std::filesystem::remove(db_path_ + "-shm", ec);
  }
  if (!sidecar_existed_) std::filesystem::remove_all(db_path_ + "-ltx", ec);
  if (fd >= 0) ::close(fd);
}

}  // namespace ltxvfs::vfs
