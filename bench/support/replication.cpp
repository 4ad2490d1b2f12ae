#include "bench/support/replication.h"

#include <stdexcept>
#include <thread>

namespace ltxvfs::bench {

uint64_t uploaded_txid(const nlohmann::json& stats) {
  return stats.value("uploaded_txid", uint64_t{0});
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
