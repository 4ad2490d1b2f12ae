// W4 cold replica: a read replica opened straight from the store (through the simulated distant
// store), each query on a fresh replica with nothing cached: (a) a point query by primary key,
// (b) an indexed range query of 100 rows, (c) a full-table scan, compared with downloading
// every object of the replica in parallel. Time, requests and bytes of the query alone come from
// the replica's ltx_stats() before and after it; the open's are in the note. When this build
// cannot open a replica the rows say so instead.

#include <chrono>
#include <cstdlib>

#include "bench/figures/large_replica.h"
#include "bench/support/machine.h"
#include "bench/support/scratch.h"
#include "bench/support/sqlite_host.h"
#include "bench/support/workload.h"

namespace ltxvfs::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Query {
  std::string name;
  std::string sql;
  bool full_scan = false;
  std::string params;  // more replica URI parameters
};

struct Measurement {
  double open_ms = 0;
  double query_ms = 0;
  StoreCost open_cost;
  StoreCost query_cost;
  // Where a scan waited, from ltx_stats() after it: reads that missed the cache, reads that
  // waited for a request already in flight, prefetches dropped (queue full), GETs made by the
  // reading thread itself.
  double misses = 0, shared_waits = 0, dropped = 0, sync_requests = 0;
  // Pages the cache evicted during the scan: read-ahead pushed out before it was read shows here.
  double evictions = 0;
  // CPU seconds this process (SQLite, the replica's threads, the latency proxy) used during the
  // query, and the 1-minute load after it: is a scan waiting for the network or for a core?
  double query_cpu_s = 0, load_after = 0;
  double busy_cores = 0;  // the machine's, every process (BusyCores)
};

Measurement run_cold(const Context& ctx, const LargeReplica& replica, const Query& q) {
  ScratchDir dir(ctx.work_dir(), "w4");
  const std::string uri =
      db_uri(dir.file("replica.db"), "ltx",
             "mode=ro&" + replica.bucket->uri_params(replica.prefix, replica.via) + q.params);
  Measurement m;
  const auto start = Clock::now();
  Connection db(uri, SQLITE_OPEN_READONLY);
  const auto opened = Clock::now();
  m.open_cost = store_cost_of(db.ltx_stats());
  const BusyCores busy;
  const auto query_start = Clock::now();
  const double cpu_start = process_cpu_seconds();
  db.query_text(q.sql);
  const auto done = Clock::now();
  m.query_cpu_s = process_cpu_seconds() - cpu_start;
  m.busy_cores = busy.cores();
  double load[1] = {0};
  if (::getloadavg(load, 1) == 1) m.load_after = load[0];
  m.open_ms = std::chrono::duration<double, std::milli>(opened - start).count();
  m.query_ms = std::chrono::duration<double, std::milli>(done - query_start).count();
  const nlohmann::json stats = db.ltx_stats();
  m.query_cost = store_cost_of(stats) - m.open_cost;
  const auto at = [&](const char* part, const char* name) {
    return stats.contains(part) && stats[part].contains(name) ? stats[part][name].get<double>()
                                                              : 0.0;
  };
  m.misses = at("cache", "misses");
  m.evictions = at("cache", "evictions");
  m.shared_waits = at("fetch", "shared_waits");
  m.dropped = at("fetch", "prefetch_dropped");
  m.sync_requests = at("fetch", "requests") - at("fetch", "prefetch_requests");
  return m;
}

}  // namespace

void run_w4_cold_replica(const Context& ctx, const LargeReplica& replica) {
  const int64_t first = replica.rows / 3;
  const std::vector<Query> queries = {
      {"(a) point query by id",
       "SELECT length(v) FROM t WHERE id = " + std::to_string(replica.rows / 2), false, ""},
      {"(b) range query, 100 rows by index",
       "SELECT count(*), sum(length(v)) FROM t WHERE k BETWEEN " + std::to_string(key_of(first)) +
           " AND " + std::to_string(key_of(first + 99)),
       false, ""},
      {"(c) full scan", "SELECT count(*), sum(length(v)) FROM t", true, ""},
      // The same scan with a read-ahead window of 4 MiB, an eighth of the default (half of
      // cache_mb): what a small window costs a scan through this latency.
      {"(c) full scan, prefetch=1024", "SELECT count(*), sum(length(v)) FROM t", true,
       "&prefetch=1024"},
  };
  const std::string where = " (" + replica.shaping + ")";
  for (const auto& q : queries) {
    // Full scans too: since issue 17 a cold scan of the 121 MiB database takes about a second
    // (25 s before, when it ran once).
    const int runs = ctx.sizes().heavy_runs;
    std::vector<Measurement> results;
    try {
      for (int r = 0; r < runs; ++r) results.push_back(run_cold(ctx, replica, q));
    } catch (const std::exception& e) {
      ctx.unavailable("W4", q.name + where, std::string("cannot read a replica: ") + e.what());
      continue;
    }
    std::vector<double> open, query;
    std::vector<StoreCost> open_costs, query_costs;
    for (const auto& m : results) {
      open.push_back(m.open_ms);
      query.push_back(m.query_ms);
      open_costs.push_back(m.open_cost);
      query_costs.push_back(m.query_cost);
    }
    const StoreCost open_cost = median_cost(open_costs);
    Row row;
    row.figure = "W4";
    row.name = q.name + where;
    row.unit = "ms";
    row.ltx = summarize(query);
    row.store = median_cost(query_costs);
    row.note = "query only; the open before it took " + format_number(summarize(open).median) +
               " ms, " + format_number(open_cost.requests) + " requests, " +
               format_bytes(open_cost.bytes_received);
    if (q.full_scan) {
      row.baseline_label = "raw parallel download of the replica";
      const double raw_ms = replica.raw_download_s * 1000;
      row.baseline = Summary{1, raw_ms, raw_ms, raw_ms};
      row.note += "; plain column = parallel download of all " +
                  format_bytes(static_cast<double>(replica.plan_bytes)) + " (8 connections)";
      const Measurement& last = results.back();
      row.note += "; last run: " + format_number(last.misses) + " cache misses, " +
                  format_number(last.evictions) + " evictions, " +
                  format_number(last.sync_requests) + " GETs by the reading thread, " +
                  format_number(last.shared_waits) + " reads waited for a GET in flight, " +
                  format_number(last.dropped) + " prefetches dropped, " +
                  format_number(last.query_cpu_s) + " CPU s in this process (2 cores: " +
                  format_number(last.query_cpu_s * 1000 / last.query_ms) +
                  " busy on average), load " + format_number(last.load_after) + "; " +
                  busy_note(replica, "scan", last.busy_cores);
    }
    row.extra = {{"open_ms", summarize(open).median},
                 {"open_requests", open_cost.requests},
                 {"open_bytes", open_cost.bytes_received}};
    ctx.report.add(std::move(row));
  }
}

}  // namespace ltxvfs::bench
