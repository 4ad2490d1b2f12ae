// The large replica that W4 (cold replica), W5 (restore) and W7 (replica memory) share: a
// database of at least 100 MB (default size) written through `ltx` to moto, then read through
// a proxy that makes moto look like a distant store.
#include <chrono>

#include "base/time_spec.h"
#include "bench/figures/large_replica.h"
#include "bench/support/replication.h"
#include "bench/support/scratch.h"
#include "bench/support/sqlite_host.h"
#include "bench/support/workload.h"
#include "history/history_engine.h"
#include "tests/support/tcp_proxy.h"

namespace ltxvfs::bench {
namespace {

constexpr size_t kPayloadBytes = 200;
// W5's snapshot row runs up to this size (see its `unavailable` reason).
constexpr uint64_t kSnapshotRowMaxBytes = uint64_t{512} << 20;

}  // namespace

testing::TcpProxyOptions distant_store(const Context& ctx) {
  testing::TcpProxyOptions shaping;
  shaping.request_latency =
      std::chrono::microseconds(static_cast<int64_t>(ctx.options.latency_ms * 1000));
  shaping.bytes_per_second = static_cast<uint64_t>(ctx.options.bandwidth_mib_s * 1024 * 1024);
  return shaping;
}

void run_large_replica_figures(const Context& ctx) {
  const bool w4 = ctx.options.wants("W4"), w5 = ctx.options.wants("W5"),
             w7 = ctx.options.wants("W7");
  const auto bucket = ctx.moto_bucket("large");
  if (!bucket) {
    if (w5) ctx.unavailable("W5", "restore", "no moto endpoint (--moto)");
    if (w4) ctx.unavailable("W4", "cold replica", "no moto endpoint (--moto)");
    if (w7) ctx.unavailable("W7", "replica RSS", "no moto endpoint (--moto)");
    return;
  }
  LargeReplica replica;
  replica.bucket = bucket.get();
  replica.prefix = "large";
  ScratchDir dir(ctx.work_dir(), "large");
  // The primary writes straight to the server (loading is W2's figure, not this one's), without
  // the group-upload window: objects of one transaction each (about 5 MB) rather than 64 MB
  // groups. A database written over time has objects like these, and moto copies the whole
  // object for every ranged GET, which would dominate W4 with 64 MB objects.
  const std::string uri = db_uri(dir.file("app.db"), "ltx",
                                 bucket->uri_params(replica.prefix) + "&upload_interval_ms=0");
  {
    Connection db(uri);
    prepare_database(db);
    replica.rows = fill_to_size(db, ctx.sizes().large_db_mb, kPayloadBytes, 20000);
    wait_replicated(db, std::chrono::minutes(10));
    replica.db_bytes =
        static_cast<uint64_t>(db.query_int("PRAGMA page_count") * db.query_int("PRAGMA page_size"));
  }

  testing::TcpProxy proxy(port_of(bucket->endpoint()), distant_store(ctx));
  replica.via = "http://127.0.0.1:" + std::to_string(proxy.port());
  replica.shaping = format_number(ctx.options.latency_ms) + " ms, " +
                    format_number(ctx.options.bandwidth_mib_s) + " MiB/s/conn";

  const std::string size = format_bytes(static_cast<double>(replica.db_bytes));
  plan_newest(replica);
  if (w5 || w4) {
    // W4 compares its full scan with this download.
    measure_restore(ctx, replica, "restore " + size + " DB (" + replica.shaping + ")", w5);
  }
  if (w5) measure_decode(ctx, replica);
  if (w5) measure_hydrate(ctx, replica);
  if (w4) run_w4_cold_replica(ctx, replica);
  if (w7) run_w7_replica_memory(ctx, replica);
  if (w4 || w5) {
    run_on_s3rver_copy(ctx, replica, {.restore = w5, .hydrate = w5, .w4 = w4},
                       "restore " + size + " DB");
  }
  if (!w5) {
    bucket->clear(replica.prefix);
    return;
  }

  {
    // Small transactions as an application makes them: the default upload window groups them.
    Connection db(db_uri(dir.file("app.db"), "ltx", bucket->uri_params(replica.prefix)));
    db.exec("PRAGMA synchronous=NORMAL");
    Statement update(db, "UPDATE t SET v = ?2 WHERE id = ?1");
    uint64_t state = 7;
    for (int i = 0; i < ctx.sizes().small_txns; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const auto id = static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(replica.rows)) + 1;
      update.bind(1, id).bind(2, payload(id + 1, kPayloadBytes)).run();
    }
    wait_replicated(db, std::chrono::minutes(5));
  }
  const std::string after =
      "restore after +" + format_number(ctx.sizes().small_txns) + " small txns";
  measure_restore(ctx, replica, after);
  run_on_s3rver_copy(ctx, replica, {.restore = true}, after);
  if (replica.db_bytes > kSnapshotRowMaxBytes) {
    ctx.unavailable("W5", "restore of one snapshot",
                    "database above 512 MiB: building its snapshot reads every file in 4 MiB "
                    "ranges, and moto copies the whole object for each (over 10 minutes at 1 GiB)");
  } else {
    {
      // A big database's restore is mostly one snapshot (built every snapshot_interval): one
      // object larger than kStreamAbove, which the restorer streams in ranged chunks and decodes
      // on its applying thread. Built as `ltxvfs compact --snapshot` does, straight to moto.
      auto opened = bucket->open(replica.prefix);
      ScratchDir temp(ctx.work_dir(), "w5-snapshot");
      ltxvfs::history::CompactionWork work;
      work.temp_dir = temp.path();
      ltxvfs::history::HistoryEngine engine(*opened.store, opened.layout,
                                            ltxvfs::ltx::OutputFormat::kNative, {}, work);
      engine.run_now(ltxvfs::base::now_ms(),
                     {.levels = true, .snapshot = true, .retention = false});
    }
    measure_restore(ctx, replica, "restore of one snapshot");
    run_on_s3rver_copy(ctx, replica, {.restore = true}, "restore of one snapshot");
  }
  bucket->clear(replica.prefix);
}

}  // namespace ltxvfs::bench
