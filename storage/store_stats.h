// Counters of the work a store did, for benchmarks and ltx_stats(). Updated with relaxed atomics:
// each counter is exact, but a snapshot taken during traffic is not a consistent cut across them.
#pragma once

#include <atomic>
#include <cstdint>

namespace ltxvfs::storage {

struct StoreStatsSnapshot {
  uint64_t requests = 0;  // requests sent (S3: HTTP requests incl. retries; file: calls)
  uint64_t retries = 0;   // of which repeats after a transient failure
  uint64_t failures = 0;  // calls that failed (not an absent key or a lost condition)
  uint64_t not_sent = 0;  // S3 attempts refused: the endpoint had stopped answering
  uint64_t puts = 0;      // calls per operation, not counting retries
  uint64_t gets = 0;
  uint64_t heads = 0;
  uint64_t lists = 0;           // list requests (S3: one per page)
  uint64_t deletes = 0;         // delete requests (S3: one per batch of <=1000 keys)
  uint64_t bytes_sent = 0;      // request bodies (object data, delete batches)
  uint64_t bytes_received = 0;  // response bodies (object data, listings, errors)
};

struct StoreStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> not_sent{0};
  std::atomic<uint64_t> puts{0};
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> heads{0};
  std::atomic<uint64_t> lists{0};
  std::atomic<uint64_t> deletes{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> bytes_received{0};

  static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }

  StoreStatsSnapshot snapshot() const {
    auto r = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    return {r(requests), r(retries), r(failures), r(not_sent),   r(puts),          r(gets),
            r(heads),    r(lists),   r(deletes),  r(bytes_sent), r(bytes_received)};
  }
};

}  // namespace ltxvfs::storage
