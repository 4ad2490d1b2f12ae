// SQL functions of read replicas. Both reach the connection's replica through the private file
// control kFcntlLtxReplica; on a connection whose main database is not a replica, ltx_wait()
// fails with a message saying so and replica_stats_json() returns nullopt (ltx_stats() then
// reports the primary, or fails saying how to open the database through ltx).
#include "extension/replica_functions.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "base/time_spec.h"
#include "extension/stats_json.h"
#include "vfs/replica/replica.h"
#include "vfs/replica/snapshot.h"
#include "vfs/shim/replica_file.h"

namespace ltxvfs::extension {
namespace {

constexpr sqlite3_int64 kDefaultWaitMs = 5000;

replica::Replica* replica_of(sqlite3* db) {
  replica::Replica* r = nullptr;
  if (sqlite3_file_control(db, "main", vfs::kFcntlLtxReplica, &r) != SQLITE_OK) return nullptr;
  return r;
}

// ltx_wait(txid [, timeout_ms]): blocks until the replica has published a snapshot at TXID >=
// txid and returns that TXID; the connection's next read transaction sees it. On timeout it
// fails with an error naming both TXIDs (and a gap or poll error holding the replica back).
void ltx_wait(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  replica::Replica* r = replica_of(sqlite3_context_db_handle(ctx));
  if (r == nullptr) {
    return sqlite3_result_error(
        ctx,
        "ltx_wait: the main database of this connection is not a read replica (open it with "
        "vfs=ltx&mode=ro&replica=<url>); on a primary, ltx_txid() is already current",
        -1);
  }
  if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || sqlite3_value_int64(argv[0]) < 0) {
    return sqlite3_result_error(ctx, "ltx_wait: txid must be a non-negative integer", -1);
  }
  sqlite3_int64 timeout = kDefaultWaitMs;
  if (argc > 1) {
    if (sqlite3_value_type(argv[1]) != SQLITE_INTEGER || sqlite3_value_int64(argv[1]) < 0) {
      return sqlite3_result_error(ctx, "ltx_wait: timeout_ms must be a non-negative integer", -1);
    }
    timeout = sqlite3_value_int64(argv[1]);
  }
  try {
    const uint64_t reached = r->wait_for(static_cast<uint64_t>(sqlite3_value_int64(argv[0])),
                                         std::chrono::milliseconds(timeout));
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(reached));
  } catch (const std::exception& e) {
    const std::string message = std::string("ltx_wait: ") + e.what();
    sqlite3_result_error(ctx, message.c_str(), static_cast<int>(message.size()));
  }
}

}  // namespace

int register_replica_functions(sqlite3* db) {
  int rc = sqlite3_create_function_v2(db, "ltx_wait", 1, SQLITE_UTF8, nullptr, ltx_wait, nullptr,
                                      nullptr, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "ltx_wait", 2, SQLITE_UTF8, nullptr, ltx_wait, nullptr,
                                    nullptr, nullptr);
  }
  return rc;
}

std::optional<uint64_t> replica_txid(sqlite3* db) {
  replica::Replica* r = replica_of(db);
  if (r == nullptr) return std::nullopt;
  const auto snapshot = r->current();
  return snapshot ? snapshot->txid() : 0;
}

std::optional<std::string> replica_stats_json(sqlite3* db) {
  replica::Replica* r = replica_of(db);
  if (r == nullptr) return std::nullopt;
  const replica::ReplicaStats s = r->stats();
  nlohmann::json j = {
      {"role", "replica"},
      {"replica", s.source},
      {"position", s.position.describe()},
      {"txid", s.txid},
      {"txid_time", base::format_rfc3339_ms(s.txid_time_ms)},
      {"lag_txids", s.lag_txids},
      {"lag_ms", s.lag_ms},
      {"commit_age_ms", s.commit_age_ms},
      {"since_poll_ms", s.since_poll_ms},
      {"page_size", s.page_size},
      {"pages", s.commit},
      {"objects", s.files},
      {"polls", s.polls},
      {"poll_errors", s.poll_errors},
      {"snapshots", s.snapshots},
      {"replans", s.replans},
      {"lost_reads", s.lost},
      {"waiting_after_txid", s.waiting_after},
      {"waiting_reason", s.waiting_reason},
      {"last_error", s.last_error},
      {"requests", s.store.requests},
      {"bytes", s.store.bytes_received},
      {"errors", s.store.failures + s.poll_errors},
  };
  nlohmann::json bad = nlohmann::json::array();
  for (const auto& b : s.bad_objects) {
    bad.push_back({{"key", b.file.key},
                   {"level", b.file.level},
                   {"min_txid", b.file.min_txid},
                   {"max_txid", b.file.max_txid},
                   {"size", b.file.size},
                   {"junk", b.junk},
                   {"unavoidable", b.unavoidable},
                   {"error", b.why}});
  }
  j["bad_objects"] = bad;
  j["cache"] = {{"hits", s.cache.hits},           {"misses", s.cache.misses},
                {"evictions", s.cache.evictions}, {"pages", s.cache.pages},
                {"bytes", s.cache.bytes},         {"capacity_bytes", s.cache.capacity_bytes}};
  j["fetch"] = {{"requests", s.fetch.requests},
                {"bytes", s.fetch.bytes},
                {"gap_bytes", s.fetch.gap_bytes},
                {"pages", s.fetch.pages},
                {"readahead_pages", s.fetch.readahead_pages},
                {"prefetch_requests", s.fetch.prefetch_requests},
                {"prefetch_pages", s.fetch.prefetch_pages},
                {"prefetch_queued", s.fetch.prefetch_queued},
                {"prefetch_dropped", s.fetch.prefetch_dropped},
                {"shared_waits", s.fetch.shared_waits},
                {"errors", s.fetch.errors}};
  j["index"] = {{"tails_fetched", s.index.tails_fetched},
                {"headers_fetched", s.index.headers_fetched},
                {"page1_fetched", s.index.page1_fetched},
                {"roots_fetched", s.index.roots_fetched},
                {"cached", s.index.cached},
                {"lazy", s.index.lazy},
                {"parts_fetched", s.index.parts_fetched},
                {"wholes_fetched", s.index.wholes_fetched},
                {"whole_bytes", s.index.whole_bytes}};
  j["store"] = store_stats_json(s.store);
  j["hydration"] = {{"state", s.hydration.state},
                    {"txid", s.hydration.txid},
                    {"pages_done", s.hydration.pages_done},
                    {"pages_total", s.hydration.pages_total},
                    {"bytes", s.hydration.bytes},
                    {"local_reads", s.hydration.local_reads},
                    {"error", s.hydration.error}};
  return j.dump();
}

}  // namespace ltxvfs::extension
