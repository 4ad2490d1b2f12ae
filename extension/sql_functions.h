// SQL functions of the extension, registered on every connection:
//   ltx_txid()   the newest TXID of the connection's replicated main database (after building
//                everything committed so far), or of its read replica.
//   ltx_stats()  a JSON object describing the replication (TXID, uploaded TXID, spool, store
//                requests and errors) or the read replica.
//   Both fail, saying how to open the database through ltx, when the main database is neither.
//   ltx_metrics()     every database of the process (any connection).
//   ltx_last_error()  the newest refused open's reason in the process, or NULL (any connection).
//   ltx_version()     the extension's version.
#pragma once

#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::extension {

int register_sql_functions(sqlite3* db);

}  // namespace ltxvfs::extension
