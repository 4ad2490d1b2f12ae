#include "vfs/shim/replica_file.h"

#include "vfs/shim/log.h"

namespace ltxvfs::vfs {

int open_replica_file(VfsContext&, sqlite3_filename, sqlite3_file*, int, int*) {
  throw SqliteError(SQLITE_CANTOPEN, "read replicas are not available in this build yet");
}

}  // namespace ltxvfs::vfs
