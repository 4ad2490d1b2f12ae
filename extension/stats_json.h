// JSON pieces shared by ltx_stats() of primaries and replicas.
#pragma once

#include <nlohmann/json.hpp>

#include "storage/store_stats.h"

namespace ltxvfs::extension {

// The store's request and byte counters, as ltx_stats() reports them under "store".
inline nlohmann::json store_stats_json(const storage::StoreStatsSnapshot& s) {
  return {{"requests", s.requests},
          {"retries", s.retries},
          {"failures", s.failures},
          {"not_sent", s.not_sent},
          {"puts", s.puts},
          {"gets", s.gets},
          {"heads", s.heads},
          {"lists", s.lists},
          {"deletes", s.deletes},
          {"bytes_sent", s.bytes_sent},
          {"bytes_received", s.bytes_received}};
}

}  // namespace ltxvfs::extension
