#include "bench/support/options.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace ltxvfs::bench {
namespace {

constexpr const char* kUsage =
    "usage: ltxvfs_bench [--smoke] [--runs N] [--only W1,W3,...] [--moto URL]\n"
    "                    [--s3rver URL] [--work-dir DIR] [--json FILE] [--markdown FILE]\n"
    "                    [--latency-ms MS] [--bandwidth-mib MIB]\n"
    "                    [--w7-mb 10,1024] [--w7-large-runs N] [--large-db-mb MB]\n"
    "                    [--w3-seconds S] [--w3-rates 100,1000,20000] [--w9-rows N]\n"
    "                    [--extension PATH] [--rss-writer PATH]\n"
    "Runs the ltxvfs benchmark figures (issue 5) against plain SQLite in the same process.\n"
    "S3 figures need a moto endpoint (scripts/run-bench.sh starts one). With --s3rver, W4 and\n"
    "W5 also read a copy of their replica from s3rver, which serves ranges as S3 does.\n";

[[noreturn]] void usage(const std::string& error) {
  if (!error.empty()) std::fprintf(stderr, "ltxvfs_bench: %s\n", error.c_str());
  std::fputs(kUsage, error.empty() ? stdout : stderr);
  std::exit(error.empty() ? 0 : 2);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

double number(const std::string& flag, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || v < 0) usage(flag + ": expected a number, got " + value);
  return v;
}

Sizes smoke_sizes() {
  Sizes s;
  s.runs = 1;
  s.heavy_runs = 1;
  s.w1_txns_normal_1 = 200;
  s.w1_txns_normal_10 = 200;
  s.w1_txns_normal_1000 = 10;
  s.w1_txns_full_1 = 30;
  s.w1_txns_full_10 = 30;
  s.w1_txns_full_1000 = 5;
  s.w2_rows = 20'000;
  s.w2_rows_per_txn = 10'000;
  s.w3_seconds = 0.3;
  s.w3_eager_seconds = 0.3;
  s.w8_seconds = 0.5;
  s.w9_rows = 2'000;
  s.large_db_mb = 4;
  s.small_txns = 200;
  s.w7_db_mb = {0, 10};
  s.w7_large_runs = 1;
  return s;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& a : args) o.command_line += (o.command_line.empty() ? "" : " ") + a;
  for (const auto& a : args) {
    if (a == "--smoke") o.smoke = true;
  }
  if (o.smoke) o.sizes = smoke_sizes();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) usage(a + " needs a value");
      return args[++i];
    };
    if (a == "--smoke") {
      continue;
    } else if (a == "--help" || a == "-h") {
      usage("");
    } else if (a == "--runs") {
      const int n = static_cast<int>(number(a, value()));
      if (n < 1) usage("--runs must be at least 1");
      o.sizes.runs = n;
      o.sizes.heavy_runs = std::min(n, o.sizes.heavy_runs);
      o.sizes.w7_large_runs = std::min(n, o.sizes.w7_large_runs);
    } else if (a == "--only") {
      for (const auto& f : split(value())) o.only.insert(f);
    } else if (a == "--moto") {
      o.moto = value();
    } else if (a == "--s3rver") {
      o.s3rver = value();
    } else if (a == "--work-dir") {
      o.work_dir = value();
    } else if (a == "--json") {
      o.json_path = value();
    } else if (a == "--markdown") {
      o.markdown_path = value();
    } else if (a == "--latency-ms") {
      o.latency_ms = number(a, value());
    } else if (a == "--bandwidth-mib") {
      o.bandwidth_mib_s = number(a, value());
    } else if (a == "--large-db-mb") {
      o.sizes.large_db_mb = static_cast<uint64_t>(number(a, value()));
    } else if (a == "--w7-mb") {
      o.sizes.w7_db_mb.clear();
      for (const auto& mb : split(value())) {
        o.sizes.w7_db_mb.push_back(static_cast<uint64_t>(number(a, mb)));
      }
    } else if (a == "--w7-large-runs") {
      const int n = static_cast<int>(number(a, value()));
      if (n < 1) usage("--w7-large-runs must be at least 1");
      o.sizes.w7_large_runs = n;
    } else if (a == "--w3-seconds") {
      o.sizes.w3_seconds = number(a, value());
      if (o.sizes.w3_seconds <= 0) usage("--w3-seconds must be positive");
    } else if (a == "--w3-rates") {
      o.sizes.w3_rates.clear();
      for (const auto& rate : split(value())) {
        const double r = number(a, rate);
        if (r <= 0) usage("--w3-rates: a rate must be positive");
        o.sizes.w3_rates.push_back(r);
      }
      if (o.sizes.w3_rates.empty()) usage("--w3-rates needs at least one rate");
    } else if (a == "--w9-rows") {
      o.sizes.w9_rows = static_cast<int64_t>(number(a, value()));
      if (o.sizes.w9_rows < 100) usage("--w9-rows must be at least 100");
    } else if (a == "--extension") {
      o.extension_path = value();
    } else if (a == "--rss-writer") {
      o.rss_writer_path = value();
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.extension_path.empty()) o.extension_path = LTXVFS_EXTENSION_PATH;
  if (o.rss_writer_path.empty()) o.rss_writer_path = LTXVFS_BENCH_RSS_WRITER_PATH;
  if (o.work_dir.empty()) o.work_dir = LTXVFS_BENCH_DEFAULT_WORK_DIR;
  o.work_dir = std::filesystem::absolute(o.work_dir).string();
  return o;
}

}  // namespace ltxvfs::bench
