// W2 bulk load: many rows in large transactions (1 M rows, 100 k per transaction at the default
// size) through `unix` and through `ltx` (local directory, and S3 on moto). The figure is the
// load time the application sees, as rows per second; the time until the replica has caught up
// is reported beside it.
#include <chrono>
#include <map>

#include "bench/figures/figures.h"
#include "bench/support/replication.h"
#include "bench/support/targets.h"
#include "bench/support/workload.h"

namespace ltxvfs::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kPayloadBytes = 100;

struct Measurement {
  double rows_per_s = 0;
  double replicated_s = 0;
  double db_bytes = 0;
  StoreCost cost;
};

Measurement measure(const Context& ctx, const Target& target) {
  const Sizes& s = ctx.sizes();
  RunDb run(target, ctx.work_dir(), "w2");
  Connection db(run.uri());
  prepare_database(db);
  RowWriter writer(db, kPayloadBytes);
  const int64_t txns = (s.w2_rows + s.w2_rows_per_txn - 1) / s.w2_rows_per_txn;
  const auto start = Clock::now();
  writer.insert_transactions(1, txns, s.w2_rows_per_txn);
  const auto end = Clock::now();
  Measurement m;
  m.rows_per_s = static_cast<double>(txns * s.w2_rows_per_txn) /
                 std::chrono::duration<double>(end - start).count();
  m.db_bytes =
      static_cast<double>(db.query_int("PRAGMA page_count") * db.query_int("PRAGMA page_size"));
  if (target.ltx()) {
    m.cost = store_cost_of(wait_replicated(db, std::chrono::minutes(5)));
    m.replicated_s = std::chrono::duration<double>(Clock::now() - end).count();
  }
  return m;
}

}  // namespace

void run_w2_bulk_load(const Context& ctx) {
  const auto bucket = ctx.moto_bucket("w2");
  std::vector<Target> targets = {Target::unix_vfs(), Target::ltx_dir()};
  if (bucket) targets.push_back(Target::ltx_s3(*bucket));
  std::map<size_t, std::vector<Measurement>> results;
  for (int r = 0; r < ctx.sizes().heavy_runs; ++r) {
    for (size_t t = 0; t < targets.size(); ++t) results[t].push_back(measure(ctx, targets[t]));
  }
  auto summary = [&](size_t t, double Measurement::*field) {
    std::vector<double> v;
    for (const auto& m : results[t]) v.push_back(m.*field);
    return summarize(v);
  };
  const std::string rows = format_number(static_cast<double>(ctx.sizes().w2_rows)) + " rows, " +
                           format_number(static_cast<double>(ctx.sizes().w2_rows_per_txn)) + "/tx";
  for (size_t t = 1; t < targets.size(); ++t) {
    std::vector<StoreCost> costs;
    for (const auto& m : results[t]) costs.push_back(m.cost);
    Row row;
    row.figure = "W2";
    row.name = rows + ", " + targets[t].label;
    row.unit = "rows/s";
    row.baseline_label = "unix";
    row.baseline = summary(0, &Measurement::rows_per_s);
    row.ltx = summary(t, &Measurement::rows_per_s);
    row.store = median_cost(costs);
    const double replicated = summary(t, &Measurement::replicated_s).median;
    row.note = "replica complete " + format_number(replicated) + " s after the last commit; DB " +
               format_bytes(summary(t, &Measurement::db_bytes).median);
    row.extra = {{"replicated_after_last_commit_s", replicated}};
    ctx.report.add(std::move(row));
  }
  if (!bucket) ctx.unavailable("W2", rows + ", ltx s3", "no moto endpoint (--moto)");
}

}  // namespace ltxvfs::bench
