// W7, replica side: peak RSS of a process that opens the large replica and scans the whole
// table, for several cache_mb settings, against a plain process scanning a local copy of the
// same database (restored from the replica). Straight to the server, without the simulated
// latency: memory does not depend on it, and the scan would only take longer.
#include "bench/figures/large_replica.h"
#include "bench/support/scratch.h"
#include "history/restorer.h"

namespace ltxvfs::bench {

void run_w7_replica_memory(const Context& ctx, const LargeReplica& replica) {
  ScratchDir local(ctx.work_dir(), "w7-local");
  {
    auto opened = replica.bucket->open(replica.prefix);
    ltxvfs::history::restore(*opened.store, replica.plan, local.file("app.db"));
  }
  std::vector<double> plain;
  for (int r = 0; r < ctx.sizes().heavy_runs; ++r) {
    plain.push_back(measure_process(ctx, "read-unix", local.file("app.db"), "-").peak_rss_mib);
  }
  const Summary baseline = summarize(plain);
  for (const int cache_mb : {8, 64, 256}) {
    std::vector<double> rss, secs;
    try {
      // One run per setting: a scan fetches the whole database with small requests.
      for (int r = 0; r < 1; ++r) {
        ScratchDir dir(ctx.work_dir(), "w7-replica");
        const auto m = measure_process(
            ctx, "read-replica", dir.path(),
            replica.bucket->uri_params(replica.prefix) + "&cache_mb=" + std::to_string(cache_mb));
        rss.push_back(m.peak_rss_mib);
        secs.push_back(m.seconds);
      }
    } catch (const std::exception& e) {
      ctx.unavailable("W7", "replica peak RSS, full scan, cache_mb=" + std::to_string(cache_mb),
                      std::string("cannot read a replica: ") + e.what());
      continue;
    }
    Row row;
    row.figure = "W7";
    row.name = "replica peak RSS, full scan, cache_mb=" + std::to_string(cache_mb);
    row.unit = "MiB";
    row.baseline_label = "unix scan of a local copy";
    row.baseline = baseline;
    row.ltx = summarize(rss);
    row.note = format_bytes(static_cast<double>(replica.db_bytes)) + " database; scan " +
               format_number(summarize(secs).median) + " s; plain column = unix scan of a copy";
    row.extra = {{"cache_mb", cache_mb}};
    ctx.report.add(std::move(row));
  }
}

}  // namespace ltxvfs::bench
