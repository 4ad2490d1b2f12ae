// The figures of issue 5. Each adds its rows to the report; a figure that cannot run here (no
// server, no replica support yet) adds a row saying why instead of failing the suite.
#pragma once

#include <memory>
#include <string>

#include "bench/support/options.h"
#include "bench/support/report.h"
#include "bench/support/s3_bucket.h"

namespace ltxvfs::bench {

struct Context {
  const Options& options;
  Report& report;

  const Sizes& sizes() const { return options.sizes; }
  const std::string& work_dir() const { return options.work_dir; }
  // A fresh bucket on moto, or nullptr without --moto. moto is the S3 server every figure writes
  // to: it has S3's conditional writes (s3rver has none), which the writer's lease needs.
  std::unique_ptr<S3Bucket> moto_bucket(const std::string& hint) const;
  // A fresh bucket on s3rver, or nullptr without --s3rver: read-only figures only (no
  // conditional writes, so no writer lease).
  std::unique_ptr<S3Bucket> s3rver_bucket(const std::string& hint) const;
  // A row saying the figure could not run, and why.
  void unavailable(const std::string& figure, const std::string& name,
                   const std::string& why) const;
};

// One ltxvfs_bench_rss_writer process (see rss_writer.cpp for the modes): its peak RSS.
struct ProcessMeasurement {
  double peak_rss_mib = 0;   // VmHWM: the kernel's peak of the whole life
  double peak_anon_mib = 0;  // sampled peaks (every 10 ms) of anonymous and file-backed pages
  double peak_file_mib = 0;
  double seconds = 0;       // the whole life after loading the extension
  double replicated_s = 0;  // ltx writers: waiting for the store after the work
  double close_s = 0;       // closing the last connection
};
ProcessMeasurement measure_process(const Context& ctx, const std::string& mode,
                                   const std::string& dir, const std::string& arg);

void run_w1_commit_overhead(const Context& ctx);
void run_w2_bulk_load(const Context& ctx);
void run_w3_replication_lag(const Context& ctx);
// W4 cold replica, W5 restore and W7's replica memory share one large replica.
void run_large_replica_figures(const Context& ctx);
void run_w6_storage(const Context& ctx);
void run_w7_memory(const Context& ctx);
void run_w8_remote_durability(const Context& ctx);
void run_w9_mixed_workload(const Context& ctx);

}  // namespace ltxvfs::bench
