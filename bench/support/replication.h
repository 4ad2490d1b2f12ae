// Waiting for ltx to finish replicating, from the application's side (ltx_stats()).
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "bench/support/sqlite_host.h"

namespace ltxvfs::bench {

// Waits until the store has acknowledged everything committed on `db` (uploaded_txid reaches
// the TXID of the newest commit). Returns the final ltx_stats(). Throws std::runtime_error
// after `limit` (naming the TXIDs and the last error), so a broken store cannot hang the run.
nlohmann::json wait_replicated(Connection& db,
                               std::chrono::milliseconds limit = std::chrono::seconds(120));

uint64_t uploaded_txid(const nlohmann::json& stats);

}  // namespace ltxvfs::bench
