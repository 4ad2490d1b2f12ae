// W7 memory: peak RSS of a writer process filling a database to 10 MB and 1 GB (default size)
// through plain `unix` (the extension not even loaded) and through `ltx` replicating to a local
// directory. Each measurement is its own process (ltxvfs_bench_rss_writer), so the figure is
// the writer's alone; ltx's includes waiting until the replica has everything. The replica's
// RSS against its cache setting is measured with the large replica (w7_replica_memory.cpp).
#include <nlohmann/json.hpp>

#include "bench/figures/figures.h"
#include "bench/support/child_process.h"
#include "bench/support/scratch.h"

namespace ltxvfs::bench {
namespace {

ProcessMeasurement measure(const Context& ctx, const std::string& vfs, uint64_t megabytes) {
  ScratchDir dir(ctx.work_dir(), "w7");
  return measure_process(ctx, "write-" + vfs, dir.path(), std::to_string(megabytes));
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
  return {j["peak_rss_kib"].get<double>() / 1024, j["seconds"].get<double>()};
}

void run_w7_memory(const Context& ctx) {
  for (const uint64_t mb : ctx.sizes().w7_db_mb) {
    // Large databases are measured once: a run writes the database, the WAL and the replica.
    const int runs = mb >= 100 ? 1 : std::min(ctx.sizes().runs, 3);
    std::vector<double> plain, ltx, plain_s, ltx_s;
    for (int r = 0; r < runs; ++r) {
      const auto p = measure(ctx, "unix", mb);
      const auto l = measure(ctx, "ltx", mb);
      plain.push_back(p.peak_rss_mib);
      ltx.push_back(l.peak_rss_mib);
      plain_s.push_back(p.seconds);
      ltx_s.push_back(l.seconds);
    }
    Row row;
    row.figure = "W7";
    // 0 MB: open, create the table, commit: what the extension costs before any data.
    row.name = mb == 0
                   ? std::string("writer peak RSS, empty database (one commit)")
                   : "writer peak RSS, " + format_number(static_cast<double>(mb)) + " MB database";
    row.unit = "MiB";
    row.baseline_label = "unix";
    row.baseline = summarize(plain);
    row.ltx = summarize(ltx);
    row.note = "ltx - plain = " + format_number(row.ltx->median - row.baseline->median) +
               " MiB; load " + format_number(summarize(plain_s).median) + " s plain, " +
               format_number(summarize(ltx_s).median) + " s ltx (until replicated)";
    row.extra = {{"ltx_minus_plain_mib", row.ltx->median - row.baseline->median},
                 {"plain_seconds", summarize(plain_s).median},
                 {"ltx_seconds", summarize(ltx_s).median}};
    ctx.report.add(std::move(row));
  }
}

}  // namespace ltxvfs::bench
