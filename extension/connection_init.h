// Per-connection setup: SQL functions on every connection, and WAL mode on every connection whose
// main database is replicated through `ltx`.
#pragma once

#include <string>

#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::extension {

// Sets up `db` (the connection that loaded the extension) and arranges for every connection
// opened later in this process to be set up too (sqlite3_auto_extension).
int install(sqlite3* db, std::string& error);

}  // namespace ltxvfs::extension
