// FileAccess over the files of one database, for the replicator's threads.
//
// The database file is opened through SQLite's default VFS rather than with open(2): closing a
// plain descriptor would drop every POSIX lock the process holds on the file (SQLite's locks
// included), while the unix VFS shares and defers such closes correctly. The WAL is opened with
// open(2) (SQLite takes no POSIX locks on it) and reopened when SQLite has replaced it.
#pragma once

#include <mutex>
#include <string>

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

 private:
  bool wal_is_current();
  bool wal_open_ = false;  // as of the last refresh()

  sqlite3_vfs* base_;
  std::string db_path_;
  std::string wal_path_;
  sqlite3_file* db_ = nullptr;
  std::mutex wal_mu_;
  base::Fd wal_;
  uint64_t wal_dev_ = 0, wal_ino_ = 0;
};

}  // namespace ltxvfs::vfs
