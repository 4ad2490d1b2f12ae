// W8 remote durability: with durability=remote a commit returns only once the store has
// acknowledged it. 1, 4 and 16 writer threads (one connection each, BEGIN IMMEDIATE one-row
// transactions) commit for a fixed time against S3 (moto behind the latency proxy); commits that
// arrive while an upload is in flight go up together in the next object (group commit), so
// throughput should grow with writers. Baseline: the same threads on plain `unix`.
#include <atomic>
#include <chrono>
#include <thread>

#include "bench/figures/figures.h"
#include "bench/support/replication.h"
#include "bench/support/targets.h"
#include "bench/support/workload.h"
#include "tests/support/tcp_proxy.h"

namespace ltxvfs::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Measurement {
  double tx_per_s = 0;
  StoreCost cost;
};

Measurement measure(const Context& ctx, const Target& target, int writers) {
  RunDb run(target, ctx.work_dir(), "w8");
  // Held open for the whole run: it creates the table, and keeps the replicator alive between
  // writers' connections.
  Connection setup(run.uri());
  prepare_database(setup);
  const auto before = target.ltx() ? store_cost_of(wait_replicated(setup)) : StoreCost{};

  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<int64_t> commits{0};
  std::atomic<bool> failed{false};
  std::string failure;
  Clock::time_point start, end;
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      try {
        Connection db(run.uri());
        db.exec("PRAGMA synchronous=NORMAL");
        RowWriter writer(db, 100);
        Statement begin(db, "BEGIN IMMEDIATE");
        Statement commit(db, "COMMIT");
        ++ready;
        while (!go) std::this_thread::yield();
        int64_t id = (int64_t{w} + 1) << 32;
        while (Clock::now() < end) {
          begin.run();
          writer.insert(id++);
          commit.run();
          ++commits;
        }
      } catch (const std::exception& e) {
        if (!failed.exchange(true)) failure = e.what();
        ++ready;
      }
    });
  }
  while (ready < writers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  start = Clock::now();
  end = start + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(ctx.sizes().w8_seconds));
  go = true;
  for (auto& t : threads) t.join();
  if (failed) throw std::runtime_error("W8 writer: " + failure);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  Measurement m;
  m.tx_per_s = static_cast<double>(commits.load()) / elapsed;
  if (target.ltx()) m.cost = store_cost_of(setup.ltx_stats()) - before;
  return m;
}

}  // namespace

void run_w8_remote_durability(const Context& ctx) {
  const auto bucket = ctx.moto_bucket("w8");
  if (!bucket) {
    ctx.unavailable("W8", "remote durability", "no moto endpoint (--moto)");
    return;
  }
  testing::TcpProxyOptions slow;
  slow.request_latency =
      std::chrono::microseconds(static_cast<int64_t>(ctx.options.latency_ms * 1000));
  testing::TcpProxy proxy(port_of(bucket->endpoint()), slow);
  const std::string via = "http://127.0.0.1:" + std::to_string(proxy.port());
  const Target plain = Target::unix_vfs();
  const Target remote = Target::ltx_s3(*bucket, via, "durability=remote");

  std::vector<double> single;
  for (const int writers : {1, 4, 16}) {
    std::vector<double> base, ltx;
    std::vector<StoreCost> costs;
    for (int r = 0; r < ctx.sizes().heavy_runs; ++r) {
      base.push_back(measure(ctx, plain, writers).tx_per_s);
      const auto m = measure(ctx, remote, writers);
      ltx.push_back(m.tx_per_s);
      costs.push_back(m.cost);
    }
    Row row;
    row.figure = "W8";
    row.name = std::to_string(writers) + " writer" + (writers > 1 ? "s" : "") +
               ", durability=remote, " + format_number(ctx.options.latency_ms) + " ms store";
    row.unit = "tx/s";
    row.baseline_label = "unix";
    row.baseline = summarize(base);
    row.ltx = summarize(ltx);
    row.store = median_cost(costs);
    const double puts = row.store->puts;
    if (puts > 0) {
      row.note = format_number(row.ltx->median * ctx.sizes().w8_seconds / puts) +
                 " commits per PUT (group commit)";
    }
    if (writers == 1) single = ltx;
    if (writers == 16 && !single.empty()) {
      Row speedup;
      speedup.figure = "W8";
      speedup.name = "16 writers / 1 writer, durability=remote";
      speedup.unit = "x";
      speedup.ltx = Summary{1, row.ltx->median / summarize(single).median,
                            row.ltx->median / summarize(single).median,
                            row.ltx->median / summarize(single).median};
      ctx.report.add(std::move(row));
      ctx.report.add(std::move(speedup));
      continue;
    }
    ctx.report.add(std::move(row));
  }
}

}  // namespace ltxvfs::bench
