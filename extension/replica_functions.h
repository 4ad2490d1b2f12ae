// SQL functions of read replicas (see README "Read replicas"):
//   ltx_wait(txid, timeout_ms)  wait until the replica has reached `txid`
// and the replica half of ltx_stats().
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vfs/shim/sqlite_api.h"

namespace ltxvfs::extension {

int register_replica_functions(sqlite3* db);
// ltx_stats() of a connection whose main database is a read replica; nullopt otherwise.
std::optional<std::string> replica_stats_json(sqlite3* db);
// The newest TXID of the connection's read replica; nullopt when it is not one.
std::optional<uint64_t> replica_txid(sqlite3* db);

}  // namespace ltxvfs::extension
