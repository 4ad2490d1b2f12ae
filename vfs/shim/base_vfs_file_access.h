// FileAccess over the files of one database, for the replicator's threads.
//
// The database file is opened through SQLite's default VFS rather than with open(2): closing a
// plain descriptor would drop every POSIX lock the process holds on the file (SQLite's locks
// included), while the unix VFS shares and defers such closes correctly. The WAL is opened with
// open(2) (SQLite takes no POSIX locks on it), reopened when SQLite has replaced it, and closed
// while the builder is idle (release_idle). The database handle stays: closing it while SQLite
// holds a lock on the file (a WAL-mode connection always does) would only park its descriptor in
// the unix VFS's list of pending closes.
//
// Threads: the replicator's LtxBuilder reads through it (the opening thread while the replicator
// is built, then the build stage's runs), one thread at a time in practice; wal_mu_ makes refresh()
// and read_wal() safe from any thread regardless. read_db() and db_size() take no lock: the private
// database handle is only read (pread and fstat in the unix VFS).
#pragma once

#include <string>

#include "base/mutex.h"
#include "base/posix_file.h"
#include "vfs/shim/sqlite_api.h"
#include "vfs/writer/file_access.h"

namespace ltxvfs::vfs {

class BaseVfsFileAccess final : public writer::FileAccess {
 public:
  // Throws SqliteError when the database file cannot be opened.
  BaseVfsFileAccess(sqlite3_vfs* base, const std::string& db_path);
  ~BaseVfsFileAccess() override;

  size_t read_db(uint64_t offset, std::span<uint8_t> out) override;
  uint64_t db_size() override;
  size_t read_wal(uint64_t offset, std::span<uint8_t> out) override;
  void refresh() override;
  void release_idle() override;

 private:
  bool wal_is_current() REQUIRES(wal_mu_);

  // Constant after construction.
  sqlite3_vfs* const base_;
  const std::string db_path_;
  const std::string wal_path_;
  sqlite3_file* db_ = nullptr;

  // Protected by wal_mu_.
  base::Mutex wal_mu_;
  bool wal_open_ GUARDED_BY(wal_mu_) = false;  // as of the last refresh()
  bool released_ GUARDED_BY(wal_mu_) = false;  // release_idle() since the last refresh()
  base::Fd wal_ GUARDED_BY(wal_mu_);
  uint64_t wal_dev_ GUARDED_BY(wal_mu_) = 0;  // identity of the file wal_ has open
  uint64_t wal_ino_ GUARDED_BY(wal_mu_) = 0;
};

}  // namespace ltxvfs::vfs
