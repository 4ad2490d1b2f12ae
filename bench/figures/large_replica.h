// The large replica W4 and W5 share: a database of at least 100 MB (default size) written
// through `ltx` to an S3-compatible server, and a proxy in front of that server that makes it
// look like a distant store (latency per request, bandwidth per connection).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/figures/figures.h"
#include "history/restore_plan.h"
#include "tests/support/tcp_proxy.h"

namespace ltxvfs::bench {

struct LargeReplica {
  const S3Bucket* bucket = nullptr;
  std::string prefix;
  std::string via;      // the proxy's endpoint
  std::string shaping;  // "20 ms, 64 MiB/s/conn" for row names
  int64_t rows = 0;
  uint64_t db_bytes = 0;
  std::vector<ltxvfs::history::RemoteFile> plan;  // the newest restorable state
  uint64_t plan_bytes = 0;
  double raw_download_s = 0;  // median: every object of the plan, in parallel, via the proxy
  double raw_busy_cores = 0;  // median: the machine's cores busy meanwhile (BusyCores)
};

// The proxy's shaping for --latency-ms and --bandwidth-mib: a store that far away.
testing::TcpProxyOptions distant_store(const Context& ctx);

// Lists the replica and plans its newest restorable state into `replica.plan`.
void plan_newest(LargeReplica& replica);
// Downloads the objects of `plan` with `parallelism` threads through `via`, discarding the
// bytes. Returns the elapsed seconds.
double raw_parallel_download(const LargeReplica& replica, unsigned parallelism);

// W5: restores (and raw downloads as the baseline), alternating; sets replica.raw_download_s.
// Without `report` only the raw download is measured (W4 compares with it).
void measure_restore(const Context& ctx, LargeReplica& replica, const std::string& name,
                     bool report = true);
// W5: CPU time of decoding every object of the plan from memory.
void measure_decode(const Context& ctx, const LargeReplica& replica);
// W5: the same decoding on all cores, as the restore's workers do it (after measure_decode).
// `expansion`: bytes of pages per byte of objects, to quote the rate in pages too.
void measure_parallel_decode(const Context& ctx, const LargeReplica& replica,
                             const std::vector<std::vector<uint8_t>>& objects, double one_thread,
                             double expansion);
// W5: hydrate=1 through the proxy, against replica.raw_download_s.
void measure_hydrate(const Context& ctx, const LargeReplica& replica);

// "cores busy (of N, every process): download D, <what> B" for a row's note.
std::string busy_note(const LargeReplica& replica, const std::string& what, double busy_cores);

void run_w4_cold_replica(const Context& ctx, const LargeReplica& replica);
// W4 and W5 again, read from a copy of `on_moto` on s3rver (s3rver_copy.cpp); nothing without
// --s3rver. The raw download always (W4 compares with it), the restore row (named `restore_name`
// plus the server) when `restore`, the hydrate row when `hydrate`, W4 when `w4`.
struct CopyRows {
  bool restore = false;
  bool hydrate = false;
  bool w4 = false;
};
void run_on_s3rver_copy(const Context& ctx, const LargeReplica& on_moto, CopyRows rows,
                        const std::string& restore_name);
// W7's second half: peak RSS of a process scanning the replica, by cache setting.
void run_w7_replica_memory(const Context& ctx, const LargeReplica& replica);

}  // namespace ltxvfs::bench
