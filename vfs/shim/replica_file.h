// The main database file of a read replica: opened with mode=ro and replica=<url>, it is served
// from object storage (no local database file). PLACEHOLDER: the replica path is being built.
#pragma once

#include "extension/sqlite_api.h"
#include "vfs/shim/vfs_context.h"

namespace ltxvfs::vfs {

// Fills `file` (a ShimFile-sized allocation) as a replica file for `name`, or throws SqliteError.
int open_replica_file(VfsContext& ctx, sqlite3_filename name, sqlite3_file* file, int flags,
                      int* out_flags);

}  // namespace ltxvfs::vfs
