// SQL functions of the extension, registered on every connection:
//   ltx_txid()   the newest TXID of the connection's replicated main database (after building
//                everything committed so far); NULL when the database is not replicated.
//   ltx_stats()  a JSON object describing the replication (TXID, uploaded TXID, spool, store
//                requests and errors); NULL when the database is not replicated.
#pragma once

#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::extension {

int register_sql_functions(sqlite3* db);

}  // namespace ltxvfs::extension
