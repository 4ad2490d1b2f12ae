// VfsContext: everything the registered `ltx` VFS owns. It is the VFS's pAppData and the only
// long-lived state of the extension; it lives as long as the process.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/mutex.h"
#include "vfs/shim/connection_hooks.h"
#include "vfs/shim/lent_db_files.h"
#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::writer {
class Replicator;
}

namespace ltxvfs::vfs {

class PrimaryConnection;

class VfsContext {
 public:
  explicit VfsContext(sqlite3_vfs* base);
  ~VfsContext();
  VfsContext(const VfsContext&) = delete;
  VfsContext& operator=(const VfsContext&) = delete;

  sqlite3_vfs& vfs() { return vfs_; }
  sqlite3_vfs* base() const { return base_; }
  // Bytes of our ShimFile header in front of the wrapped file, rounded for alignment.
  static constexpr size_t shim_header_size() { return kShimHeaderSize; }

  // For a main database file just opened through the base VFS (`db_file`): the hooks of a
  // replicated (primary) database, after putting it in WAL mode; or null when this open is not
  // replicated (read-only opens). Throws SqliteError with a message saying why when the open must
  // be refused.
  std::unique_ptr<PrimaryConnection> open_database_hooks(sqlite3_filename name, int flags,
                                                         sqlite3_file* db_file);
  // The replicator of the database whose WAL is `wal_path`, if it is replicated in this process.
  std::shared_ptr<writer::Replicator> replicator_of_wal(const std::string& wal_path);
  // SQLite is about to delete `wal_path`: if it is the WAL of a replicated database, waits until
  // its frames are spooled durably.
  void before_wal_delete(const std::string& wal_path);

 private:
  // The replicator of `path` (shared with other connections of this process), or null when the
  // file is not a database SQLite could write (it then reports so itself). Builds it outside mu_:
  // building waits for the writer's flock and lease (up to lease_wait_ms) and lists the store,
  // and no other database's open may wait behind that.
  // `file` (the connection's `db_file`) is lent to it for as long as the returned loan lives.
  struct Shared {
    std::shared_ptr<writer::Replicator> replicator;
    std::unique_ptr<DbFileLoan> loan;
  };
  Shared replicator_for(const std::string& path, sqlite3_filename name, sqlite3_file* db_file,
                        LentDbFile& file);
  // Builds a new replicator for `path` (no lock held), reading through `lent`.
  std::shared_ptr<writer::Replicator> build_replicator(const std::string& path,
                                                       sqlite3_filename name, sqlite3_file* db_file,
                                                       std::shared_ptr<LentDbFiles> lent);

  static constexpr size_t kShimHeaderSize = 64;
  sqlite3_vfs vfs_{};
  sqlite3_vfs* base_;
  // One replicator per database file, shared by all connections of this process to it, and
  // destroyed (drained, stopped) when the last of them closes. While one connection builds the
  // replicator of a path (`opening`), other opens of the same path wait on opened_cv_; opens of
  // other paths do not wait at all.
  struct Entry {
    std::weak_ptr<writer::Replicator> replicator;
    std::weak_ptr<LentDbFiles> lent;  // the files its reads go through
    bool opening = false;
    // The file the replicator was built for: a path names a file only until it is replaced.
    dev_t device = 0;
    ino_t inode = 0;
  };
  base::Mutex mu_;
  std::condition_variable opened_cv_;  // an Entry's opening ended (built or failed)
  std::map<std::string, Entry> replicators_ GUARDED_BY(mu_);
};

}  // namespace ltxvfs::vfs
