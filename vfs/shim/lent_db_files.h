// Lent database files: the replicator reads the database through its connections' own file
// objects instead of a descriptor of its own (issue 18: an idle database holds one descriptor
// beyond SQLite's, the writer lock).
//
// Why not a descriptor of its own: closing any descriptor of a file drops every POSIX lock the
// process holds on that file, SQLite's included. Opened through the unix VFS, such a handle is
// not closed at xClose but parked until SQLite's last lock on the file goes, and a WAL-mode
// connection holds one until it closes: the builder's handle cost a descriptor per database for
// the whole session (W10: 2,000 beyond SQLite's at 1,000 idle databases, not 1,000).
//
// Why a lock around SQLite's own calls: the unix VFS reads and writes with lseek() then read()
// or write() (SQLite defines no USE_PREAD by default), and maps, remaps and unmaps the file in
// xFetch, xUnfetch, xTruncate and some file controls (SQLITE_FCNTL_MMAP_SIZE, SIZE_HINT). A read
// from another thread between SQLite's seek and its read would move SQLite's offset, or read a
// region being unmapped. So each of those calls on a lent file holds the file's lock: SQLite's
// through the shim (vfs_shim.cpp's primary_* methods), the replicator's here. xLock, xUnlock,
// xSync, xFileSize and the xShm* methods touch neither the offset nor the mapping and go
// unlocked. A lock is held for one call of the unix VFS, never while waiting for anything else.
//
// Concurrency contract: every method may be called from any thread. Lock order: LentDbFiles::mu_,
// then a LentDbFile's mu_. SQLite's threads take a LentDbFile's lock alone (its I/O) or
// LentDbFiles::mu_ alone (a DbFileLoan made or ended, at open and close).
#pragma once

#include <memory>
#include <vector>

#include "base/mutex.h"
#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::vfs {

// One connection's main database file (the unix VFS's object inside the shim's) and its lock.
class LentDbFile {
 public:
  explicit LentDbFile(sqlite3_file* real) : real_(real) {}
  LentDbFile(const LentDbFile&) = delete;
  LentDbFile& operator=(const LentDbFile&) = delete;

  // Returns call(real file) run under the file's lock.
  template <class Call>
  auto locked(Call&& call) EXCLUDES(mu_) {
    base::MutexLock lock(mu_);
    return call(real_);
  }

 private:
  base::Mutex mu_;
  sqlite3_file* const real_;  // constant: the connection's file, open while the loan lasts
};

// The files lent to one database's replicator by the connections of this process.
class LentDbFiles {
 public:
  // Runs call(real file) on one lent file under its lock and returns true; false when no
  // connection lends one (the replicator outlived its connections: the caller reads otherwise).
  template <class Call>
  bool with_any(Call&& call) EXCLUDES(mu_) {
    base::MutexLock lock(mu_);
    if (files_.empty()) return false;
    files_.front()->locked(call);
    return true;
  }

 private:
  friend class DbFileLoan;
  void lend(LentDbFile* file) EXCLUDES(mu_);
  // Waits for a read under way on `file` (it holds mu_), so the connection may close it after.
  void take_back(LentDbFile* file) EXCLUDES(mu_);

  base::Mutex mu_;
  std::vector<LentDbFile*> files_ GUARDED_BY(mu_);
};

// `file` lent to `files` for as long as the loan lives. The connection that owns the file ends
// the loan before it closes the file (PrimaryConnection's members are destroyed in that order).
class DbFileLoan {
 public:
  DbFileLoan(std::shared_ptr<LentDbFiles> files, LentDbFile* file);
  ~DbFileLoan();
  DbFileLoan(const DbFileLoan&) = delete;
  DbFileLoan& operator=(const DbFileLoan&) = delete;

 private:
  const std::shared_ptr<LentDbFiles> files_;
  LentDbFile* const file_;
};

}  // namespace ltxvfs::vfs
