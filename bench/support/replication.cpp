#include "bench/support/replication.h"

#include <stdexcept>
#include <thread>

namespace ltxvfs::bench {

uint64_t uploaded_txid(const nlohmann::json& stats) {
  return stats.value("uploaded_txid", uint64_t{0});
}

PipelineCounters pipeline_counters_of(const nlohmann::json& stats) {
  auto get = [&](const char* key) {
    return stats.is_object() && stats.contains(key) && stats[key].is_number()
               ? stats[key].get<double>()
               : 0.0;
  };
  PipelineCounters c;
  c.commits = get("commits");
  c.batches = get("batches");
  c.syncs = get("syncs");
  c.checkpoint_waits = get("checkpoint_waits");
  c.checkpoint_wait_us = get("checkpoint_wait_us");
  c.overwrite_waits = get("overwrite_waits");
  c.overwrite_wait_us = get("overwrite_wait_us");
  c.full_files = get("full_files");
  c.objects_uploaded = get("objects_uploaded");
  c.reports_waits = stats.is_object() && stats.contains("checkpoint_wait_us");
  return c;
}

PipelineCounters operator-(const PipelineCounters& a, const PipelineCounters& b) {
  PipelineCounters d;
  d.commits = a.commits - b.commits;
  d.batches = a.batches - b.batches;
  d.syncs = a.syncs - b.syncs;
  d.checkpoint_waits = a.checkpoint_waits - b.checkpoint_waits;
  d.checkpoint_wait_us = a.checkpoint_wait_us - b.checkpoint_wait_us;
  d.overwrite_waits = a.overwrite_waits - b.overwrite_waits;
  d.overwrite_wait_us = a.overwrite_wait_us - b.overwrite_wait_us;
  d.full_files = a.full_files - b.full_files;
  d.objects_uploaded = a.objects_uploaded - b.objects_uploaded;
  d.reports_waits = a.reports_waits && b.reports_waits;
  return d;
}

nlohmann::json wait_replicated(Connection& db, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  // ltx_txid() waits until every commit so far is built, so `target` covers them all.
  const auto target = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  for (;;) {
    nlohmann::json stats = db.ltx_stats();
    if (uploaded_txid(stats) >= target) return stats;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("replication did not reach TXID " + std::to_string(target) +
                               " in time (uploaded " + std::to_string(uploaded_txid(stats)) +
                               ", last error: " + stats.value("last_error", std::string()) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace ltxvfs::bench
