#include "extension/replica_functions.h"

namespace ltxvfs::extension {

// PLACEHOLDER until the replica path lands.
int register_replica_functions(sqlite3*) {
  return SQLITE_OK;
}
std::optional<std::string> replica_stats_json(sqlite3*) {
  return std::nullopt;
}

}  // namespace ltxvfs::extension
