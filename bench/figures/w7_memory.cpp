// W7 memory: peak RSS of a writer process through plain `unix` (the extension not even loaded)
// and through `ltx` replicating to a local directory, each in its own process
// (ltxvfs_bench_rss_writer), so that the figure is the writer's alone and covers its whole life:
// open, the work, waiting until the replica has everything, and closing.
//
// Two cases per size:
// - filling a new database to 10 MB and 1 GB (default size) in ~1 MiB transactions;
// - opening that database through ltx for the first time and committing one row: the whole
//   database goes up as the initial snapshot (plain: the same open and commit through unix).
// The target of the issue is ltx − plain ≤ 16 MiB at 1 GB. The replica's RSS against its cache
// setting is measured with the large replica (w7_replica_memory.cpp).
#include <nlohmann/json.hpp>

#include "bench/figures/figures.h"
#include "bench/support/child_process.h"
#include "bench/support/scratch.h"

namespace ltxvfs::bench {
namespace {

constexpr double kTargetMib = 16;

struct Pair {
  ProcessMeasurement plain, ltx;
};

// Summary of one field over runs.
template <typename F>
Summary over(const std::vector<Pair>& runs, F field) {
  std::vector<double> v;
  for (const auto& p : runs) v.push_back(field(p));
  return summarize(v);
}

// `what` names the case; `over_what` the row of the difference.
void add_rows(const Context& ctx, const std::vector<Pair>& runs, const std::string& what,
              const std::string& over_what, uint64_t mb) {
  const Summary plain = over(runs, [](const Pair& p) { return p.plain.peak_rss_mib; });
  const Summary ltx = over(runs, [](const Pair& p) { return p.ltx.peak_rss_mib; });
  const Summary diff =
      over(runs, [](const Pair& p) { return p.ltx.peak_rss_mib - p.plain.peak_rss_mib; });
  const Summary ltx_anon = over(runs, [](const Pair& p) { return p.ltx.peak_anon_mib; });
  const Summary ltx_file = over(runs, [](const Pair& p) { return p.ltx.peak_file_mib; });
  const Summary plain_anon = over(runs, [](const Pair& p) { return p.plain.peak_anon_mib; });
  const Summary plain_file = over(runs, [](const Pair& p) { return p.plain.peak_file_mib; });
  const Summary plain_s = over(runs, [](const Pair& p) { return p.plain.seconds; });
  const Summary ltx_s = over(runs, [](const Pair& p) { return p.ltx.seconds; });
  const Summary replicated_s = over(runs, [](const Pair& p) { return p.ltx.replicated_s; });
  const Summary close_s = over(runs, [](const Pair& p) { return p.ltx.close_s; });

  Row row;
  row.figure = "W7";
  row.name = what;
  row.unit = "MiB";
  row.baseline_label = "unix";
  row.baseline = plain;
  row.ltx = ltx;
  row.note = "ltx - plain = " + format_number(diff.median) + " MiB; peaks of anonymous / file " +
             "pages: ltx " + format_number(ltx_anon.median) + " / " +
             format_number(ltx_file.median) + " MiB, plain " + format_number(plain_anon.median) +
             " / " + format_number(plain_file.median) + " MiB; " + format_number(plain_s.median) +
             " s plain, " + format_number(ltx_s.median) + " s ltx (of which " +
             format_number(replicated_s.median) + " s waiting for the replica and " +
             format_number(close_s.median) + " s closing)";
  row.extra = {
      {"ltx_minus_plain_mib", diff.median},       {"database_mb", mb},
      {"ltx_peak_anon_mib", ltx_anon.median},     {"ltx_peak_file_mib", ltx_file.median},
      {"plain_peak_anon_mib", plain_anon.median}, {"plain_peak_file_mib", plain_file.median},
      {"plain_seconds", plain_s.median},          {"ltx_seconds", ltx_s.median},
      {"ltx_replicated_s", replicated_s.median},  {"ltx_close_s", close_s.median}};
  ctx.report.add(std::move(row));

  Row over_plain;
  over_plain.figure = "W7";
  over_plain.name = over_what;
  over_plain.unit = "MiB";
  over_plain.ltx = diff;
  over_plain.note = "ltx peak RSS - plain peak RSS, per run pair";
  if (mb >= 1024) {
    over_plain.note += "; target <= +" + format_number(kTargetMib) +
                       " MiB: " + (diff.median <= kTargetMib ? "met" : "MISSED");
  }
  over_plain.extra = {{"target_mib", kTargetMib}, {"database_mb", mb}};
  ctx.report.add(std::move(over_plain));
}

std::string size_label(uint64_t mb) {
  return format_number(static_cast<double>(mb)) + " MB DB";
}

}  // namespace

ProcessMeasurement measure_process(const Context& ctx, const std::string& mode,
                                   const std::string& dir, const std::string& arg) {
  const auto result =
      run_child({ctx.options.rss_writer_path, mode, dir, arg, ctx.options.extension_path},
                std::chrono::minutes(10));
  if (result.exit_code != 0) {
    throw std::runtime_error("W7 process (" + mode + " " + arg + ") failed with status " +
                             std::to_string(result.exit_code));
  }
  const auto j = nlohmann::json::parse(result.output);
  auto mib = [&](const char* key) { return j.value(key, 0.0) / 1024; };
  ProcessMeasurement m;
  m.peak_rss_mib = mib("peak_rss_kib");
  m.peak_anon_mib = mib("peak_anon_kib");
  m.peak_file_mib = mib("peak_file_kib");
  m.seconds = j.value("seconds", 0.0);
  m.replicated_s = j.value("replicated_s", 0.0);
  m.close_s = j.value("close_s", 0.0);
  return m;
}

void run_w7_memory(const Context& ctx) {
  for (const uint64_t mb : ctx.sizes().w7_db_mb) {
    // Large databases cost a minute or more per run: their own (smaller) number of runs.
    const int runs = mb >= 100 ? ctx.sizes().w7_large_runs : std::min(ctx.sizes().runs, 3);
    const std::string size = std::to_string(mb);
    std::vector<Pair> fill, first_open;
    for (int r = 0; r < runs; ++r) {
      Pair f, o;
      {
        ScratchDir dir(ctx.work_dir(), "w7");
        f.plain = measure_process(ctx, "write-unix", dir.path(), size);
        if (mb > 0) {
          // The database plain SQLite just wrote, opened by an application for the first time:
          // through unix, then through ltx, which ships all of it as the initial snapshot.
          o.plain = measure_process(ctx, "touch-unix", dir.path(), "-");
          o.ltx = measure_process(ctx, "touch-ltx", dir.path(), "-");
        }
      }
      {
        ScratchDir dir(ctx.work_dir(), "w7");
        f.ltx = measure_process(ctx, "write-ltx", dir.path(), size);
      }
      fill.push_back(f);
      if (mb > 0) first_open.push_back(o);
    }
    // 0 MB: open, create the table, commit: what the extension costs before any data.
    const std::string filled = mb == 0 ? "empty DB (1 commit)" : size_label(mb);
    add_rows(ctx, fill, "writer peak RSS, " + filled, "writer RSS over plain, " + filled, mb);
    if (mb > 0) {
      add_rows(ctx, first_open, "first open (snapshot) + 1 commit, " + size_label(mb),
               "first open RSS over plain, " + size_label(mb), mb);
    }
  }
}

}  // namespace ltxvfs::bench
