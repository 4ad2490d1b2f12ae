// Puts a database that is about to be replicated into WAL mode, from inside the VFS's xOpen.
//
// ltx sees commits through the WAL, so a replicated database must be in WAL mode before its first
// write. Doing it here rather than in the extension's per-connection hook keeps it independent of
// sqlite3_auto_extension (which sqlite3_shutdown() and sqlite3_reset_auto_extension() undo), and
// means the replicator never sees a database in the middle of the switch: the switch is finished
// before the replicator exists.
#pragma once

#include <cstdint>
#include <string>

#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::vfs {

// `db_file` is the database file just opened through `base` (read to learn the journal mode).
// If the database is not in WAL mode yet, a private connection through `base` applies
// `page_size` (when non-zero: only effective for a new, empty database) and `PRAGMA
// journal_mode=WAL`, waiting up to 10 s for other connections' locks. Throws SqliteError naming
// the database and the reason when it cannot.
void ensure_wal_mode(sqlite3_vfs* base, sqlite3_file* db_file, const std::string& path,
                     uint32_t page_size);

// True when the database header of `db_file` says WAL mode (file format versions 2).
bool in_wal_mode(sqlite3_file* db_file);

}  // namespace ltxvfs::vfs
