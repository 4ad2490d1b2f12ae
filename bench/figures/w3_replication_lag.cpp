// W3 replication lag and PUT rate: one-row transactions committed at a fixed rate through `ltx`.
//
// 1. With the defaults (upload_interval_ms=1000) at 100, 1,000 and 20,000 tx/s, to a local
//    directory and to S3 (moto behind a proxy that adds the simulated store latency to every
//    request): PUT requests per second while committing, split into LTX objects and the writer
//    lease's renewals of lock.json (every 10 s), and the replication lag. A rate the machine
//    cannot reach is committed as fast as it goes; the row says what was reached.
// 2. With no upload window (upload_interval_ms=0), S3 only, 100 and 1,000 tx/s: the lag floor.
//
// The lag of a transaction is the time from its commit returning to the moment ltx_stats() first
// shows uploaded_txid at or past its TXID (polled every 2 ms on a second connection). PUTs are
// counted from ltx_stats(): `objects_uploaded` are LTX objects; every other store PUT (the
// store's `puts` counter minus those) is the lease's, unless a failed PUT was retried (the
// failures are counted beside it).
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
using Seconds = std::chrono::duration<double>;

struct LagRun {
  double p50 = 0, p99 = 0, max = 0;
  double achieved_tx_s = 0;
  // While committing (from the first commit to the last): every PUT, LTX objects, the lease.
  double puts_per_s = 0;
  double ltx_puts_per_s = 0;
  double lease_puts_per_s = 0;
  double lease_puts = 0;      // PUTs that are not LTX objects: lease renewals (and retries)
  double store_failures = 0;  // while committing
  // The steady upload period: mean time between consecutive LTX objects while committing.
  double upload_period_ms = 0;
  StoreCost cost;  // everything from the first commit until the store had the last one
};

struct PutCounts {
  double ltx = 0;       // LTX objects uploaded
  double total = 0;     // every PUT the store was sent (LTX objects and the lease)
  double failures = 0;  // store calls that failed (a failed PUT is retried: one more PUT)
};

PutCounts put_counts(const nlohmann::json& stats) {
  const nlohmann::json store = stats.value("store", nlohmann::json::object());
  return {pipeline_counters_of(stats).objects_uploaded, store_cost_of(stats).puts,
          store.value("failures", 0.0)};
}

LagRun measure(const Context& ctx, const Target& target, double rate, double seconds) {
  RunDb run(target, ctx.work_dir(), "w3");
  Connection db(run.uri());
  prepare_database(db);
  RowWriter writer(db, 100);
  writer.insert(0);
  const auto setup = wait_replicated(db);
  const auto base = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  const auto n = static_cast<size_t>(rate * seconds);
  std::vector<Clock::time_point> committed(n), acknowledged(n);

  // The poller: its own connection to the same database shares the process's replicator. It
  // also notes when each LTX object and each other PUT completed.
  Connection watcher(run.uri());
  std::atomic<bool> stop{false};
  std::atomic<size_t> seen{0};
  std::atomic<size_t> issued{0};
  std::vector<Clock::time_point> object_times;
  std::vector<std::pair<Clock::time_point, PutCounts>> samples;
  std::thread poller([&] {
    PutCounts last = put_counts(setup);
    while (!stop) {
      const auto stats = watcher.ltx_stats();
      const uint64_t up = uploaded_txid(stats);
      const auto now = Clock::now();
      const PutCounts puts = put_counts(stats);
      for (double k = last.ltx; k < puts.ltx; ++k) object_times.push_back(now);
      samples.emplace_back(now, puts);
      last = puts;
      size_t k = seen;
      const size_t limit = issued;  // only commits that returned have a TXID to wait for
      for (; k < limit && base + k + 1 <= up; ++k) acknowledged[k] = now;
      seen = k;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  // Paced by the schedule, not by a sleep per commit: a commit that comes late is made up for by
  // the next ones. A rate beyond the machine commits back to back until the time is up.
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(Seconds(seconds));
  const auto period = Seconds(1.0 / rate);
  size_t done = 0;
  for (; done < n; ++done) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(period * done);
    if (Clock::now() < due) std::this_thread::sleep_until(due);
    if (Clock::now() >= end) break;
    writer.insert(static_cast<int64_t>(done) + 1);
    committed[done] = Clock::now();
    issued = done + 1;
  }
  const auto commits_done = Clock::now();
  const auto deadline = commits_done + std::chrono::seconds(60);
  while (seen < done && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  poller.join();
  if (done == 0) throw std::runtime_error("W3: no commit in the time given");
  if (seen < done) {
    throw std::runtime_error("W3: the store did not acknowledge every commit in 60 s");
  }
  const auto txid = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  if (txid != base + done) {
    throw std::runtime_error("W3: expected one TXID per commit (TXID " + std::to_string(txid) +
                             ", expected " + std::to_string(base + done) + ")");
  }

  std::vector<double> lags;
  for (size_t k = 0; k < done; ++k) {
    lags.push_back(std::max(0.0, Ms(acknowledged[k] - committed[k]).count()));
  }
  LagRun r;
  r.p50 = percentile(lags, 50);
  r.p99 = percentile(lags, 99);
  r.max = percentile(lags, 100);
  const double span = Seconds(commits_done - start).count();
  r.achieved_tx_s = static_cast<double>(done) / span;
  r.cost = store_cost_of(db.ltx_stats()) - store_cost_of(setup);

  // PUTs completed while committing: the last poller sample at or before each end.
  auto counts_at = [&](Clock::time_point t) {
    PutCounts c = put_counts(setup);
    for (const auto& [when, puts] : samples) {
      if (when > t) break;
      c = puts;
    }
    return c;
  };
  const PutCounts from = counts_at(start), to = counts_at(commits_done);
  r.puts_per_s = (to.total - from.total) / span;
  r.ltx_puts_per_s = (to.ltx - from.ltx) / span;
  r.lease_puts = (to.total - to.ltx) - (from.total - from.ltx);
  r.lease_puts_per_s = r.lease_puts / span;
  r.store_failures = to.failures - from.failures;
  std::vector<Clock::time_point> during;
  for (const auto& t : object_times) {
    if (t >= start && t <= commits_done) during.push_back(t);
  }
  if (during.size() >= 2) {
    r.upload_period_ms =
        Ms(during.back() - during.front()).count() / static_cast<double>(during.size() - 1);
  }
  return r;
}

// "@1000 tx/s" (appended: GCC 12 -O3 warns about "literal" + std::string, bug 105329).
std::string at_rate(double rate) {
  std::string out(1, '@');
  out += format_number(rate);
  out += " tx/s";
  return out;
}

Summary summary_of(const std::vector<LagRun>& runs, double LagRun::*field) {
  std::vector<double> v;
  for (const auto& run : runs) v.push_back(run.*field);
  return summarize(v);
}

void add_lag_rows(const Context& ctx, const std::vector<LagRun>& runs, const std::string& where,
                  double rate, int window_ms) {
  std::vector<StoreCost> costs;
  for (const auto& run : runs) costs.push_back(run.cost);
  const double achieved = summary_of(runs, &LagRun::achieved_tx_s).median;
  const nlohmann::json extra = {
      {"rate_asked", rate}, {"rate_achieved", achieved}, {"window_ms", window_ms}};
  for (const auto& [label, field] :
       {std::pair{"lag p50 ", &LagRun::p50}, std::pair{"lag p99 ", &LagRun::p99},
        std::pair{"lag max ", &LagRun::max}}) {
    Row row;
    row.figure = "W3";
    row.name = label + where;
    row.unit = "ms";
    row.ltx = summary_of(runs, field);
    if (field == &LagRun::p50) {
      row.store = median_cost(costs);
      row.note = "commits achieved " + format_number(achieved) + " tx/s of " + format_number(rate) +
                 " asked";
    }
    row.extra = extra;
    ctx.report.add(std::move(row));
  }
}

void add_put_rows(const Context& ctx, const std::vector<LagRun>& runs, const std::string& where,
                  double rate) {
  const double achieved = summary_of(runs, &LagRun::achieved_tx_s).median;
  const Summary ltx = summary_of(runs, &LagRun::ltx_puts_per_s);
  const Summary lease = summary_of(runs, &LagRun::lease_puts_per_s);
  const Summary period = summary_of(runs, &LagRun::upload_period_ms);
  Row all;
  all.figure = "W3";
  all.name = "PUT/s " + where;
  all.unit = "PUT/s";
  all.ltx = summary_of(runs, &LagRun::puts_per_s);
  all.note = "while committing at " + format_number(achieved) + " tx/s (of " + format_number(rate) +
             " asked): LTX objects " + format_number(ltx.median) + "/s (one every " +
             format_number(period.median) + " ms), other PUTs " + format_number(lease.median) +
             "/s (" + format_number(summary_of(runs, &LagRun::lease_puts).median) +
             ": lock.json lease renewals; " +
             format_number(summary_of(runs, &LagRun::store_failures).median) +
             " failed store calls); target <= 1.1 PUT/s";
  all.extra = {{"rate_asked", rate},
               {"rate_achieved", achieved},
               {"ltx_puts_per_s", ltx.median},
               {"lease_puts_per_s", lease.median},
               {"upload_period_ms", period.median}};
  ctx.report.add(std::move(all));
  for (const auto& [label, summary] :
       {std::pair{"LTX PUT/s ", ltx}, std::pair{"lease+other PUT/s ", lease}}) {
    Row row;
    row.figure = "W3";
    row.name = label + where;
    row.unit = "PUT/s";
    row.ltx = summary;
    ctx.report.add(std::move(row));
  }
}

}  // namespace

void run_w3_replication_lag(const Context& ctx) {
  const auto bucket = ctx.moto_bucket("w3");
  std::unique_ptr<testing::TcpProxy> proxy;
  std::string via;
  const std::string latency = format_number(ctx.options.latency_ms) + " ms store";
  if (bucket) {
    testing::TcpProxyOptions slow;
    slow.request_latency =
        std::chrono::microseconds(static_cast<int64_t>(ctx.options.latency_ms * 1000));
    proxy = std::make_unique<testing::TcpProxy>(port_of(bucket->endpoint()), slow);
    via = "http://127.0.0.1:" + std::to_string(proxy->port());
  }

  // 1. Defaults, every rate, both stores; runs interleaved over rates and stores.
  std::vector<Target> targets = {Target::ltx_dir()};
  std::vector<std::string> store_labels = {"dir"};
  if (bucket) {
    targets.push_back(Target::ltx_s3(*bucket, via));
    store_labels.push_back(bucket->server() + " " + latency);
  }
  const auto& rates = ctx.sizes().w3_rates;
  std::vector<std::vector<std::vector<LagRun>>> runs(
      rates.size(), std::vector<std::vector<LagRun>>(targets.size()));
  for (int r = 0; r < ctx.sizes().heavy_runs; ++r) {
    for (size_t i = 0; i < rates.size(); ++i) {
      for (size_t t = 0; t < targets.size(); ++t) {
        runs[i][t].push_back(measure(ctx, targets[t], rates[i], ctx.sizes().w3_seconds));
      }
    }
  }
  for (size_t i = 0; i < rates.size(); ++i) {
    for (size_t t = 0; t < targets.size(); ++t) {
      const std::string where = at_rate(rates[i]) + ", " + store_labels[t];
      add_put_rows(ctx, runs[i][t], where, rates[i]);
      add_lag_rows(ctx, runs[i][t], where, rates[i], 1000);
    }
  }
  if (!bucket) {
    ctx.unavailable("W3", "PUT rate and lag, ltx s3", "no moto endpoint (--moto)");
    return;
  }

  // 2. No upload window: each transaction goes up as soon as the previous PUT is done.
  const Target eager = Target::ltx_s3(*bucket, via, "upload_interval_ms=0");
  for (const double rate : {100.0, 1000.0}) {
    std::vector<LagRun> eager_runs;
    for (int r = 0; r < ctx.sizes().heavy_runs; ++r) {
      eager_runs.push_back(measure(ctx, eager, rate, ctx.sizes().w3_eager_seconds));
    }
    const std::string where = at_rate(rate) + ", window 0, " + bucket->server() + " " + latency;
    add_lag_rows(ctx, eager_runs, where, rate, 0);
    Row puts;
    puts.figure = "W3";
    puts.name = "PUT/s " + where;
    puts.unit = "PUT/s";
    puts.ltx = summary_of(eager_runs, &LagRun::puts_per_s);
    ctx.report.add(std::move(puts));
  }
}

}  // namespace ltxvfs::bench
