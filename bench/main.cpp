// ltxvfs_bench: the benchmark suite of issue 5. Runs every figure through plain SQLite and through
// the real libltxvfs.so in the same process and the same run, prints the table and writes JSON.
// Not a test: it asserts nothing about timings; it fails only when a figure cannot complete.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "bench/figures/figures.h"
#include "bench/support/machine.h"
#include "bench/support/s3_bucket.h"
#include "bench/support/sqlite_host.h"
#include "ltx/key_source.h"

using namespace ltxvfs::bench;

namespace {

struct Figure {
  const char* id;  // for --only: the figures one function produces
  std::vector<std::string> covers;
  std::function<void(const Context&)> run;
};

nlohmann::json sizes_json(const Sizes& s) {
  return {{"runs", s.runs},
          {"heavy_runs", s.heavy_runs},
          {"w1_txns_normal", {s.w1_txns_normal_1, s.w1_txns_normal_10, s.w1_txns_normal_1000}},
          {"w1_txns_full", {s.w1_txns_full_1, s.w1_txns_full_10, s.w1_txns_full_1000}},
          {"w2_rows", s.w2_rows},
          {"w2_rows_per_txn", s.w2_rows_per_txn},
          {"w3_seconds", s.w3_seconds},
          {"w3_rates", s.w3_rates},
          {"w3_eager_seconds", s.w3_eager_seconds},
          {"w8_seconds", s.w8_seconds},
          {"large_db_mb", s.large_db_mb},
          {"small_txns", s.small_txns},
          {"w7_db_mb", s.w7_db_mb},
          {"w7_large_runs", s.w7_large_runs},
          {"w9_rows", s.w9_rows}};
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  // Before any thread exists (setenv is not thread-safe) and before the extension reads them.
  use_benchmark_credentials();
  std::filesystem::create_directories(options.work_dir);
  load_extension(options.extension_path);
  // LTX_ENCRYPTION_KEY in the environment encrypts what the extension writes; the restores and
  // decodes this process runs itself need the key registered here too (ltx/encryption_key.h).
  ltxvfs::ltx::load_keys("");

  Report report;
  const Context ctx{options, report};
  const std::vector<Figure> figures = {
      {"W1", {"W1"}, run_w1_commit_overhead},
      {"W2", {"W2"}, run_w2_bulk_load},
      {"W3", {"W3"}, run_w3_replication_lag},
      {"W8", {"W8"}, run_w8_remote_durability},
      {"W9", {"W9"}, run_w9_mixed_workload},
      {"W6", {"W6"}, run_w6_storage},
      {"W7", {"W7"}, run_w7_memory},
      {"W4/W5", {"W4", "W5", "W7"}, run_large_replica_figures},
  };
  const auto suite_start = std::chrono::steady_clock::now();
  const std::string load_before = load_average();
  nlohmann::json timings = nlohmann::json::object();
  for (const auto& figure : figures) {
    bool wanted = false;
    for (const auto& f : figure.covers) wanted = wanted || options.wants(f);
    if (!wanted) continue;
    std::fprintf(stderr, "bench: %s ...\n", figure.id);
    const auto start = std::chrono::steady_clock::now();
    try {
      figure.run(ctx);
    } catch (const std::exception& e) {
      Row row;
      row.figure = figure.id;
      row.name = "(figure failed)";
      row.unavailable = e.what();
      row.error = true;
      report.add(std::move(row));
      std::fprintf(stderr, "bench: %s failed: %s\n", figure.id, e.what());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    timings[figure.id] = seconds;
    std::fprintf(stderr, "bench: %s done in %.1f s\n", figure.id, seconds);
  }
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - suite_start).count();

  std::cout << "\nltxvfs benchmarks (" << (options.smoke ? "smoke size" : "default size")
            << "): plain = same work through SQLite's unix VFS; ratio = ltx / plain\n\n";
  report.print_table(std::cout);
  const std::string load_after = load_average();
  std::cout << "\nsuite time " << format_number(total) << " s; machine: " << describe_machine()
            << "; load average " << load_before << " before, " << load_after << " after\n";

  if (!options.markdown_path.empty()) {
    std::ofstream md(options.markdown_path);
    report.print_markdown(md);
    md << "\nSuite time " << format_number(total) << " s; " << describe_machine()
       << "; load average " << load_before << " before, " << load_after << " after.\n";
    std::cout << "Markdown: " << options.markdown_path << "\n";
  }
  if (!options.json_path.empty()) {
    nlohmann::json out = {{"date_utc", utc_now_iso8601()},
                          {"machine", machine_json()},
                          {"sqlite_version", sqlite3_libversion()},
                          {"size", options.smoke ? "smoke" : "default"},
                          {"command", options.command_line},
                          {"sizes", sizes_json(options.sizes)},
                          {"simulated_latency_ms", options.latency_ms},
                          {"simulated_bandwidth_mib_s", options.bandwidth_mib_s},
                          {"figure_seconds", timings},
                          {"total_seconds", total},
                          {"load_average_before", load_before},
                          {"load_average_after", load_after},
                          {"rows", report.to_json()}};
    std::ofstream(options.json_path) << out.dump(2) << "\n";
    std::cout << "JSON: " << options.json_path << "\n";
  }
  return report.failed() ? 1 : 0;
}
