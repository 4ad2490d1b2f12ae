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

// The write pipeline's counters from ltx_stats(): where the commit path waited for ltx (a
// checkpoint waits until every commit is built; a WAL restart, truncation or deletion until the
// spool is durable), and how much background work the commits caused. Differences of two
// snapshots give one run's share.
struct PipelineCounters {
  double commits = 0;
  double batches = 0;  // LTX files built (one per batch of queued commits)
  double syncs = 0;    // fdatasync rounds of the spool
  double checkpoint_waits = 0;
  double checkpoint_wait_us = 0;
  double overwrite_waits = 0;
  double overwrite_wait_us = 0;
  double full_files = 0;
  double objects_uploaded = 0;  // LTX objects (store PUTs of data, not of the lease)
  bool reports_waits = false;   // false: a build of ltx from before these counters existed
};
PipelineCounters pipeline_counters_of(const nlohmann::json& stats);
PipelineCounters operator-(const PipelineCounters& a, const PipelineCounters& b);

}  // namespace ltxvfs::bench
