// What a refused open leaves behind: nothing, and a reason the application can ask for.
//
// SQLite turns every refused open into "unable to open database file"; the VFS cannot attach
// text to that message. remember_refused_open() keeps the newest refusal's reason for
// ltx_last_error(), and OpenFootprint undoes what the refused open created on disk.
//
// The reason is process-wide, not per thread: applications open databases on one thread and
// report on another (connection pools, Python's executors, a shell's loader connection), and a
// per-thread slot would answer NULL there. Every reason names its database, so one written by
// another thread's open is never mistaken for this one's.
#pragma once

#include <optional>
#include <string>

namespace ltxvfs::vfs {

// Records `reason` (which names the database) as the newest refused open. Thread-safe.
void remember_refused_open(const std::string& reason);
// The newest refused open's reason, or nullopt when no open was refused in this process.
std::optional<std::string> last_refused_open();

// What existed at a main database's path before ltx opened it: the database, its -wal, -shm and
// its <db>-ltx folder. undo() removes what did not exist then, i.e. what this open created —
// never a database or folder that was already there, nor a -wal or -shm beside a database that
// was — unless another writer holds <db>-ltx/lock (this process's other connections, or a
// process that opened the same new database meanwhile: then it owns them).
class OpenFootprint {
 public:
  explicit OpenFootprint(std::string db_path);
  // Call once the open failed and its file is closed. Never throws.
  void undo() const noexcept;

 private:
  std::string db_path_;
  bool db_existed_ = true;
  bool wal_existed_ = true;
  bool shm_existed_ = true;
  bool sidecar_existed_ = true;
};

}  // namespace ltxvfs::vfs
