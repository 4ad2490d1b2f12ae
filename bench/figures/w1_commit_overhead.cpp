// W1 commit overhead: the same transactions through plain `unix` and through `ltx` (replicating
// to a local directory, and to S3 on moto), WAL mode, synchronous NORMAL and FULL, 1, 10 and
// 1000 rows per transaction. Runs of the targets are interleaved so that a machine busy for a
// while slows all of them alike. Beside the rate, each ltx row shows where the commit path waited
// for the pipeline (ltx_stats(): checkpoint and WAL-overwrite waits) and how much background
// work the commits caused (batches built, spool syncs), per transaction.
#include <chrono>
#include <cstdio>
#include <map>

#include "bench/figures/figures.h"
#include "bench/support/machine.h"
#include "bench/support/replication.h"
#include "bench/support/targets.h"
#include "bench/support/workload.h"

namespace ltxvfs::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kPayloadBytes = 100;

struct Measurement {
  double tx_per_s = 0;
  double seconds = 0;
  // CPU per transaction, in microseconds: of the committing thread during the timed loop, and
  // of the whole process until every commit was built (ltx's builder included; not the upload,
  // which comes after the window). On a machine whose cores are busy, CPU is what the commit
  // rate pays for; it depends much less on the other load than the rate does.
  double thread_cpu_us = 0;
  double process_cpu_us = 0;
  PipelineCounters pipeline;  // this run's commits only
  StoreCost cost;
  double replicated_s = 0;  // from the last commit until the store had everything
  uint64_t full_files = 0;  // full-database LTX files (1 is the first commit's snapshot)
};

// With `wait`, waits until the store has everything and records what that cost; otherwise the
// connection just closes, which uploads what is left without waiting for the group-upload
// window (either way the next run starts with nothing left in the background).
Measurement measure(const Context& ctx, const Target& target, const std::string& sync,
                    int rows_per_txn, int txns, bool wait) {
  RunDb run(target, ctx.work_dir(), "w1");
  Connection db(run.uri());
  prepare_database(db, sync);
  RowWriter writer(db, kPayloadBytes);
  PipelineCounters before;
  if (target.ltx()) {
    db.query_int("SELECT ltx_txid()");  // the schema's commit is built: not this run's work
    before = pipeline_counters_of(db.ltx_stats());
  }
  const double thread_cpu_start = thread_cpu_seconds();
  const double process_cpu_start = process_cpu_seconds();
  const auto start = Clock::now();
  writer.insert_transactions(1, txns, rows_per_txn);
  const auto end = Clock::now();
  Measurement m;
  m.seconds = std::chrono::duration<double>(end - start).count();
  m.tx_per_s = txns / m.seconds;
  m.thread_cpu_us = (thread_cpu_seconds() - thread_cpu_start) * 1e6 / txns;
  if (target.ltx()) {
    // The waits happened on this thread, inside the timed loop; ltx_txid() lets the builder
    // finish so that the batches count and the CPU cover every commit.
    db.query_int("SELECT ltx_txid()");
    m.process_cpu_us = (process_cpu_seconds() - process_cpu_start) * 1e6 / txns;
    m.pipeline = pipeline_counters_of(db.ltx_stats()) - before;
  } else {
    m.process_cpu_us = (process_cpu_seconds() - process_cpu_start) * 1e6 / txns;
  }
  if (target.ltx() && wait) {
    // Not part of the commit rate: how long the background work needs to catch up, and what
    // it cost. The same work costs the same requests in every run.
    const auto stats = wait_replicated(db);
    m.cost = store_cost_of(stats);
    m.full_files = stats.value("full_files", uint64_t{0});
    m.replicated_s = std::chrono::duration<double>(Clock::now() - end).count();
  }
  return m;
}

int txns_for(const Sizes& s, const std::string& sync, int rows) {
  const bool full = sync == "FULL";
  if (rows == 1) return full ? s.w1_txns_full_1 : s.w1_txns_normal_1;
  if (rows == 10) return full ? s.w1_txns_full_10 : s.w1_txns_normal_10;
  return full ? s.w1_txns_full_1000 : s.w1_txns_normal_1000;
}

// "waits/tx: checkpoint 12 µs, WAL overwrite 0 µs (0.4 % of the time); 0.05 batches/tx,
// 0.01 syncs/tx" — medians over the runs.
std::string pipeline_note(const std::vector<Measurement>& runs, int txns, nlohmann::json& extra) {
  if (!runs.front().pipeline.reports_waits) return "this build of ltx reports no pipeline waits";
  auto median = [&](auto value) {
    std::vector<double> v;
    for (const auto& m : runs) v.push_back(value(m));
    return summarize(v).median;
  };
  const double ckpt_us =
      median([&](const Measurement& m) { return m.pipeline.checkpoint_wait_us / txns; });
  const double over_us =
      median([&](const Measurement& m) { return m.pipeline.overwrite_wait_us / txns; });
  const double share = median([&](const Measurement& m) {
    return (m.pipeline.checkpoint_wait_us + m.pipeline.overwrite_wait_us) / (m.seconds * 1e6);
  });
  const double ckpts = median([](const Measurement& m) { return m.pipeline.checkpoint_waits; });
  const double overs = median([](const Measurement& m) { return m.pipeline.overwrite_waits; });
  const double batches = median([&](const Measurement& m) { return m.pipeline.batches / txns; });
  const double syncs = median([&](const Measurement& m) { return m.pipeline.syncs / txns; });
  extra["checkpoint_wait_us_per_tx"] = ckpt_us;
  extra["overwrite_wait_us_per_tx"] = over_us;
  extra["wait_share_of_commit_time"] = share;
  extra["checkpoint_waits_per_run"] = ckpts;
  extra["overwrite_waits_per_run"] = overs;
  extra["batches_per_tx"] = batches;
  extra["syncs_per_tx"] = syncs;
  return "waits/tx: checkpoint " + format_number(ckpt_us) + " us (" + format_number(ckpts) +
         " waits/run), WAL overwrite " + format_number(over_us) + " us (" + format_number(overs) +
         "/run) = " + format_number(share * 100) + " % of the commit time; " +
         format_number(batches) + " batches/tx, " + format_number(syncs) + " syncs/tx";
}

}  // namespace

void run_w1_commit_overhead(const Context& ctx) {
  const auto bucket = ctx.moto_bucket("w1");
  std::vector<Target> targets = {Target::unix_vfs(), Target::ltx_dir()};
  if (bucket) targets.push_back(Target::ltx_s3(*bucket));

  for (const std::string sync : {"NORMAL", "FULL"}) {
    for (const int rows : {1, 10, 1000}) {
      const int txns = txns_for(ctx.sizes(), sync, rows);
      const auto cell_start = Clock::now();
      std::map<size_t, std::vector<Measurement>> results;
      for (int r = 0; r < ctx.sizes().runs; ++r) {
        for (size_t t = 0; t < targets.size(); ++t) {
          results[t].push_back(measure(ctx, targets[t], sync, rows, txns, r == 0));
        }
      }
      auto rates = [&](size_t t) {
        std::vector<double> v;
        for (const auto& m : results[t]) v.push_back(m.tx_per_s);
        return summarize(v);
      };
      const Summary baseline = rates(0);
      for (size_t t = 1; t < targets.size(); ++t) {
        const Measurement& first = results[t].front();
        Row row;
        row.figure = "W1";
        row.name = std::to_string(rows) + " row/tx " + sync + ", " + targets[t].label;
        row.unit = "tx/s";
        row.baseline_label = "unix";
        row.baseline = baseline;
        row.ltx = rates(t);
        row.store = first.cost;
        row.extra = {{"transactions", txns},
                     {"rows_per_txn", rows},
                     {"synchronous", sync},
                     {"replicated_after_last_commit_s", first.replicated_s},
                     {"full_files", first.full_files}};
        row.note = pipeline_note(results[t], txns, row.extra) + "; req/bytes and catch-up (" +
                   format_number(first.replicated_s) + " s after the last commit) from run 1";
        if (first.full_files > 1) {
          // More than the initial snapshot: the builder lost its place and shipped the whole
          // database again (see "ltxvfs warning: building LTX" on stderr).
          row.note += "; " + std::to_string(first.full_files) + " full-database files";
        }
        ctx.report.add(std::move(row));

        auto cpu = [&](size_t target, double Measurement::*field) {
          std::vector<double> v;
          for (const auto& m : results[target]) v.push_back(m.*field);
          return summarize(v);
        };
        Row cpu_row;
        cpu_row.figure = "W1";
        cpu_row.name =
            "CPU/tx " + std::to_string(rows) + " row/tx " + sync + ", " + targets[t].label;
        cpu_row.unit = "us";
        cpu_row.baseline_label = "unix";
        cpu_row.baseline = cpu(0, &Measurement::process_cpu_us);
        cpu_row.ltx = cpu(t, &Measurement::process_cpu_us);
        const double plain_thread = cpu(0, &Measurement::thread_cpu_us).median;
        const double ltx_thread = cpu(t, &Measurement::thread_cpu_us).median;
        cpu_row.note =
            "process CPU until every commit was built (ratio > 1: ltx costs more); "
            "the committing thread alone: plain " +
            format_number(plain_thread) + " us, ltx " + format_number(ltx_thread) +
            " us per transaction";
        cpu_row.extra = {{"plain_thread_cpu_us", plain_thread}, {"ltx_thread_cpu_us", ltx_thread}};
        ctx.report.add(std::move(cpu_row));
      }
      std::fprintf(stderr, "bench: W1 %d row/tx %s: %.1f s\n", rows, sync.c_str(),
                   std::chrono::duration<double>(Clock::now() - cell_start).count());
      if (!bucket)
        ctx.unavailable("W1", std::to_string(rows) + " row/tx " + sync + ", ltx s3",
                        "no moto endpoint (--moto)");
    }
  }
}

}  // namespace ltxvfs::bench
