// The sqlite3_file subclass the `ltx` VFS hands to SQLite. SQLite allocates `szOsFile` bytes for
// it; the wrapped VFS's own file object lives right after this header in the same allocation.
#pragma once

#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::vfs {

class ConnectionHooks;
class LentDbFile;

enum class FileRole {
  kPassThrough,  // temp files, journals of non-replicated files, everything we do not watch
  kPrimaryDb,    // the main database file of a replicated (primary) database
  kPrimaryWal,   // the -wal file of a replicated database
  kReplicaDb,    // the main database file of a read replica (served from object storage)
};

struct ShimFile {
  sqlite3_file base;  // must stay first: SQLite only knows this part
  FileRole role;
  sqlite3_file* real;  // the wrapped VFS's file object (trailing memory), or unused for replicas
  // Per-connection replication hooks. Owned by the kPrimaryDb file; the kPrimaryWal file borrows
  // the pointer of its database file, or owns its own (`owns_hooks`) when a VFS stacked on ltx
  // hides the database file. Null for pass-through files.
  ConnectionHooks* hooks;
  bool owns_hooks;
  // kPrimaryDb: `real` as lent to the replicator (owned by the hooks). The calls that move the
  // file's offset or mapping hold its lock (lent_db_files.h). Null for other roles.
  LentDbFile* lent;
};

}  // namespace ltxvfs::vfs
