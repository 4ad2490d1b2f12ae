// W3 replication lag: one-row transactions committed at a fixed rate through `ltx` replicating
// to S3 (moto behind a proxy that adds the simulated store latency to every request). The lag
// of a transaction is the time from its commit returning to the moment ltx_stats() first shows
// uploaded_txid at or past its TXID (polled every 2 ms on a second connection). Reported at the
// default group-upload window (upload_interval_ms=1000) and with no window (0).
#include <algorithm>
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
using Ms = std::chrono::duration<double, std::milli>;

struct LagRun {
  double p50 = 0, p99 = 0, max = 0;
  double achieved_tx_s = 0;
  double puts_per_s = 0;
  StoreCost cost;
};

LagRun measure(const Context& ctx, const Target& target, double rate) {
  RunDb run(target, ctx.work_dir(), "w3");
  Connection db(run.uri());
  prepare_database(db);
  RowWriter writer(db, 100);
  writer.insert(0);
  const auto setup = wait_replicated(db);
  const auto base = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  const auto n = static_cast<size_t>(rate * ctx.sizes().w3_seconds);
  std::vector<Clock::time_point> committed(n), acknowledged(n);

  // The poller: its own connection to the same database shares the process's replicator.
  Connection watcher(run.uri());
  std::atomic<bool> stop{false};
  std::atomic<size_t> seen{0};
  std::thread poller([&] {
    while (!stop) {
      const uint64_t up = uploaded_txid(watcher.ltx_stats());
      const auto now = Clock::now();
      size_t k = seen;
      for (; k < n && base + k + 1 <= up; ++k) acknowledged[k] = now;
      seen = k;
      if (k == n) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  const auto start = Clock::now();
  const auto period = std::chrono::duration<double>(1.0 / rate);
  for (size_t k = 0; k < n; ++k) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(period * k));
    writer.insert(static_cast<int64_t>(k) + 1);
    committed[k] = Clock::now();
  }
  const auto commits_done = Clock::now();
  const auto deadline = commits_done + std::chrono::seconds(60);
  while (seen < n && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  poller.join();
  if (seen < n) throw std::runtime_error("W3: the store did not acknowledge every commit in 60 s");
  const auto txid = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  if (txid != base + n) {
    throw std::runtime_error("W3: expected one TXID per commit (TXID " + std::to_string(txid) +
                             ", expected " + std::to_string(base + n) + ")");
  }

  std::vector<double> lags;
  for (size_t k = 0; k < n; ++k) {
    lags.push_back(std::max(0.0, Ms(acknowledged[k] - committed[k]).count()));
  }
  LagRun r;
  r.p50 = percentile(lags, 50);
  r.p99 = percentile(lags, 99);
  r.max = percentile(lags, 100);
  r.achieved_tx_s =
      static_cast<double>(n) / std::chrono::duration<double>(commits_done - start).count();
  r.cost = store_cost_of(db.ltx_stats()) - store_cost_of(setup);
  const double span = std::chrono::duration<double>(acknowledged.back() - start).count();
  r.puts_per_s = r.cost.puts / span;
  return r;
}

}  // namespace

void run_w3_replication_lag(const Context& ctx) {
  const auto bucket = ctx.moto_bucket("w3");
  if (!bucket) {
    ctx.unavailable("W3", "replication lag", "no moto endpoint (--moto)");
    return;
  }
  testing::TcpProxyOptions slow;
  slow.request_latency =
      std::chrono::microseconds(static_cast<int64_t>(ctx.options.latency_ms * 1000));
  testing::TcpProxy proxy(port_of(bucket->endpoint()), slow);
  const std::string via = "http://127.0.0.1:" + std::to_string(proxy.port());
  const std::string latency = format_number(ctx.options.latency_ms) + " ms store";

  for (const int window_ms : {1000, 0}) {
    for (const double rate : {100.0, 1000.0}) {
      const Target target =
          Target::ltx_s3(*bucket, via, "upload_interval_ms=" + std::to_string(window_ms));
      std::vector<LagRun> runs;
      for (int r = 0; r < ctx.sizes().heavy_runs; ++r) runs.push_back(measure(ctx, target, rate));
      auto summary = [&](double LagRun::*field) {
        std::vector<double> v;
        for (const auto& run : runs) v.push_back(run.*field);
        return summarize(v);
      };
      std::vector<StoreCost> costs;
      for (const auto& run : runs) costs.push_back(run.cost);
      const std::string where = "@" + format_number(rate) + " tx/s, window " +
                                std::to_string(window_ms) + " ms, " + latency;
      const double achieved = summary(&LagRun::achieved_tx_s).median;
      for (const auto& [label, field] :
           {std::pair{"lag p50 ", &LagRun::p50}, std::pair{"lag p99 ", &LagRun::p99},
            std::pair{"lag max ", &LagRun::max}}) {
        Row row;
        row.figure = "W3";
        row.name = label + where;
        row.unit = "ms";
        row.ltx = summary(field);
        if (field == &LagRun::p50) {
          row.store = median_cost(costs);
          row.note = "commits achieved " + format_number(achieved) + " tx/s of " +
                     format_number(rate) + " asked";
        }
        row.extra = {{"rate_asked", rate}, {"rate_achieved", achieved}, {"window_ms", window_ms}};
        ctx.report.add(std::move(row));
      }
      Row puts;
      puts.figure = "W3";
      puts.name = "PUT/s " + where;
      puts.unit = "PUT/s";
      puts.ltx = summary(&LagRun::puts_per_s);
      ctx.report.add(std::move(puts));
    }
  }
}

}  // namespace ltxvfs::bench
