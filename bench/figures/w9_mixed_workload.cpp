// W9 mixed workload, speedtest1-like (bench/support/mixed_workload.h): the same sequence of
// phases through plain `unix`, through `ltx` replicating to a local directory, and to S3 (moto,
// no simulated latency: the commit path does not talk to the store), WAL mode,
// synchronous=NORMAL, on a fresh database each run. Runs are interleaved over the targets.
// Each phase is timed on its own; the ratio is ltx time / plain time (above 1: ltx is slower).
// After the last phase the ltx runs wait until the store has everything (not timed) and check
// that every target ended with the same content.
#include <chrono>
#include <functional>
#include <map>

#include "bench/figures/figures.h"
#include "bench/support/mixed_workload.h"
#include "bench/support/replication.h"
#include "bench/support/targets.h"
#include "bench/support/workload.h"

namespace ltxvfs::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Run {
  std::vector<double> phase_ms;
  std::vector<double> phase_wait_ms;  // ltx: SQLite's waits for the pipeline in each phase
  double total_ms = 0;
  double replicated_s = 0;  // from the end of the last phase until the store had everything
  PipelineCounters pipeline;
  StoreCost cost;
  std::string digest;
};

Run measure(const Context& ctx, const Target& target) {
  RunDb run(target, ctx.work_dir(), "w9");
  Connection db(run.uri());
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=NORMAL");
  const PipelineCounters before =
      target.ltx() ? pipeline_counters_of(db.ltx_stats()) : PipelineCounters{};
  Run r;
  PipelineCounters last = before;
  for (const auto& phase : mixed_phases(ctx.sizes().w9_rows)) {
    const auto start = Clock::now();
    phase.run(db);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    r.phase_ms.push_back(ms);
    r.total_ms += ms;
    if (target.ltx()) {  // outside the timed part
      const PipelineCounters now = pipeline_counters_of(db.ltx_stats());
      const PipelineCounters d = now - last;
      r.phase_wait_ms.push_back((d.checkpoint_wait_us + d.overwrite_wait_us) / 1000);
      last = now;
    }
  }
  const auto end = Clock::now();
  if (target.ltx()) {
    const auto stats = wait_replicated(db, std::chrono::minutes(5));
    r.replicated_s = std::chrono::duration<double>(Clock::now() - end).count();
    r.pipeline = pipeline_counters_of(stats) - before;
    r.cost = store_cost_of(stats);
  }
  r.digest = mixed_digest(db);
  return r;
}

Summary summary_of(const std::vector<Run>& runs, const std::function<double(const Run&)>& f) {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(f(r));
  return summarize(v);
}

std::string ratio_text(const Summary& ltx, const Summary& plain) {
  return plain.median > 0 ? format_number(ltx.median / plain.median) : "-";
}

}  // namespace

void run_w9_mixed_workload(const Context& ctx) {
  const auto bucket = ctx.moto_bucket("w9");
  std::vector<Target> targets = {Target::unix_vfs(), Target::ltx_dir()};
  if (bucket) targets.push_back(Target::ltx_s3(*bucket));
  std::map<size_t, std::vector<Run>> runs;
  // A run takes a few seconds per target: the cheap figures' number of runs.
  for (int r = 0; r < ctx.sizes().runs; ++r) {
    for (size_t t = 0; t < targets.size(); ++t) runs[t].push_back(measure(ctx, targets[t]));
  }
  const std::string digest = runs[0].front().digest;
  for (const auto& [t, target_runs] : runs) {
    for (const auto& run : target_runs) {
      if (run.digest != digest) {
        throw std::runtime_error("W9: " + targets[t].label + " ended with different content (" +
                                 run.digest + ") than unix (" + digest + ")");
      }
    }
  }
  const auto phases = mixed_phases(ctx.sizes().w9_rows);
  const std::string rows = format_number(static_cast<double>(ctx.sizes().w9_rows)) + " rows";

  // Totals: one row per ltx target.
  const Summary plain_total = summary_of(runs[0], [](const Run& r) { return r.total_ms; });
  for (size_t t = 1; t < targets.size(); ++t) {
    const auto& rs = runs[t];
    auto median = [&](const std::function<double(const Run&)>& f) {
      return summary_of(rs, f).median;
    };
    std::vector<StoreCost> costs;
    for (const auto& r : rs) costs.push_back(r.cost);
    Row row;
    row.figure = "W9";
    row.name =
        "total, " + rows + ", " + std::to_string(phases.size()) + " phases, " + targets[t].label;
    row.unit = "ms";
    row.baseline_label = "unix";
    row.baseline = plain_total;
    row.ltx = summary_of(rs, [](const Run& r) { return r.total_ms; });
    row.store = median_cost(costs);
    const double commits = median([](const Run& r) { return r.pipeline.commits; });
    const double ckpt_ms =
        median([](const Run& r) { return r.pipeline.checkpoint_wait_us; }) / 1000;
    const double over_ms = median([](const Run& r) { return r.pipeline.overwrite_wait_us; }) / 1000;
    const double replicated = median([](const Run& r) { return r.replicated_s; });
    row.note =
        "speedtest1-like; ratio = ltx time / plain time; " + format_number(commits) + " commits; ";
    if (rs.front().pipeline.reports_waits) {
      row.note += "SQLite waited " + format_number(ckpt_ms) + " ms at checkpoints (" +
                  format_number(median([](const Run& r) { return r.pipeline.checkpoint_waits; })) +
                  ") and " + format_number(over_ms) + " ms at WAL overwrites (" +
                  format_number(median([](const Run& r) { return r.pipeline.overwrite_waits; })) +
                  "); " + format_number(median([](const Run& r) { return r.pipeline.batches; })) +
                  " batches; ";
    } else {
      row.note += "this build of ltx reports no pipeline waits; ";
    }
    row.note += format_number(median([](const Run& r) { return r.pipeline.full_files; })) +
                " full files; replica complete " + format_number(replicated) +
                " s after the last phase";
    row.extra = {{"rows", ctx.sizes().w9_rows},
                 {"commits", commits},
                 {"checkpoint_wait_ms", ckpt_ms},
                 {"overwrite_wait_ms", over_ms},
                 {"replicated_after_last_phase_s", replicated}};
    ctx.report.add(std::move(row));
  }

  // Phases: the first ltx target (directory) in the columns, the others in the note.
  for (size_t p = 0; p < phases.size(); ++p) {
    auto phase_ms = [p](const Run& r) { return r.phase_ms[p]; };
    const Summary plain = summary_of(runs[0], phase_ms);
    Row row;
    row.figure = "W9";
    row.name = phases[p].name + " (dir)";
    row.unit = "ms";
    row.baseline_label = "unix";
    row.baseline = plain;
    row.ltx = summary_of(runs[1], phase_ms);
    auto waits = [p](const Run& r) { return r.phase_wait_ms[p]; };
    const bool reports_waits = runs[1].front().pipeline.reports_waits;
    row.note = reports_waits ? "SQLite waited for ltx " +
                                   format_number(summary_of(runs[1], waits).median) + " ms"
                             : "(no wait counters in this build)";
    nlohmann::json per_target = nlohmann::json::object();
    for (size_t t = 1; t < targets.size(); ++t) {
      const Summary s = summary_of(runs[t], phase_ms);
      const Summary w = summary_of(runs[t], waits);
      per_target[targets[t].label] = {
          {"median_ms", s.median}, {"min_ms", s.min}, {"max_ms", s.max}, {"wait_ms", w.median}};
      if (t >= 2) {
        row.note += "; " + targets[t].label + ": " + format_number(s.median) + " ms (ratio " +
                    ratio_text(s, plain) + ", waited " + format_number(w.median) + " ms)";
      }
    }
    row.extra = {{"phase", phases[p].name}, {"ltx", per_target}};
    ctx.report.add(std::move(row));
  }
  if (!bucket) ctx.unavailable("W9", "speedtest1-like, ltx s3", "no moto endpoint (--moto)");
}

}  // namespace ltxvfs::bench
