// FileAccess over the files of one database, for the replicator's threads.
//
// The database is read through the file objects its connections lend (lent_db_files.h says why
// not through a descriptor of our own). Only when no connection lends one (the replicator
// outlived them) does it open a handle of its own, through SQLite's default VFS rather than with
// open(2): closing a plain descriptor would drop every POSIX lock the process holds on the file,
// SQLite's included, while the unix VFS shares and defers such closes correctly. The WAL is
// opened with open(2) (SQLite takes no POSIX locks on it), reopened when SQLite has replaced it,
// and closed while the builder is idle (release_idle).
//
// Threads: the replicator's LtxBuilder reads through it (the opening thread while the replicator
// is built, then the build stage's runs), one thread at a time in practice; wal_mu_ and own_mu_
// make every method safe from any thread regardless.
#pragma once

#include <memory>
#include <string>

#include "base/mutex.h"
#include "base/posix_file.h"
#include "vfs/shim/lent_db_files.h"
#include "vfs/shim/sqlite_api.h"
#include "vfs/writer/file_access.h"

namespace ltxvfs::vfs {

class BaseVfsFileAccess final : public writer::FileAccess {
 public:
  // `lent`: the connections' files to read the database through (the caller lends the opening
  // connection's before the replicator reads).
  BaseVfsFileAccess(sqlite3_vfs* base, const std::string& db_path,
                    std::shared_ptr<LentDbFiles> lent);
  ~BaseVfsFileAccess() override;

  size_t read_db(uint64_t offset, std::span<uint8_t> out) override;
  uint64_t db_size() override;
  size_t read_wal(uint64_t offset, std::span<uint8_t> out) override;
  void refresh() override;
  void release_idle() override;

 private:
  bool wal_is_current() REQUIRES(wal_mu_);
  // Runs call(file) on a lent database file, or on our own handle when none is lent (opened
  // then; throws SqliteError when it cannot be).
  template <class Call>
  void with_db(Call&& call);

  // Constant after construction.
  sqlite3_vfs* const base_;
  const std::string db_path_;
  const std::string wal_path_;
  const std::shared_ptr<LentDbFiles> lent_;

  // Protected by own_mu_: our own database handle, open only after a read found no lent file.
  base::Mutex own_mu_;
  sqlite3_file* own_db_ GUARDED_BY(own_mu_) = nullptr;

  // Protected by wal_mu_.
  base::Mutex wal_mu_;
  bool wal_open_ GUARDED_BY(wal_mu_) = false;  // as of the last refresh()
  bool released_ GUARDED_BY(wal_mu_) = false;  // release_idle() since the last refresh()
  base::Fd wal_ GUARDED_BY(wal_mu_);
  uint64_t wal_dev_ GUARDED_BY(wal_mu_) = 0;  // identity of the file wal_ has open
  uint64_t wal_ino_ GUARDED_BY(wal_mu_) = 0;
};

}  // namespace ltxvfs::vfs
