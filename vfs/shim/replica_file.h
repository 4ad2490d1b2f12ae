// The main database file of a read replica: opened with mode=ro and replica=<url>, it is served
// from object storage by a replica::Replica (vfs/replica/). No local database file is needed.
//
// Memory: the ShimFile header is followed by the wrapped VFS's file area (ShimFile::real), which a
// replica does not use for a real file. open_replica_file() stores one pointer there — to a heap
// object owning the Replica, the pinned snapshot and the connection's read tracker — and xClose
// deletes it. ShimFile itself gains nothing.
#pragma once

#include "vfs/shim/sqlite_api.h"
#include "vfs/shim/vfs_context.h"

namespace ltxvfs::replica {
class Replica;
}

namespace ltxvfs::vfs {

// A file control opcode private to ltx: sqlite3_file_control(db, "main", kFcntlLtxReplica, &ptr)
// sets `ptr` (a replica::Replica*) when the connection's main database is a read replica; any
// other file answers SQLITE_NOTFOUND. The pointer is valid while the connection stays open.
inline constexpr int kFcntlLtxReplica = 0x4c545802;  // 'L' 'T' 'X' 2

// Fills `file` (a ShimFile-sized allocation) as a replica file for `name`, or throws SqliteError.
int open_replica_file(VfsContext& ctx, sqlite3_filename name, sqlite3_file* file, int flags,
                      int* out_flags);

}  // namespace ltxvfs::vfs
