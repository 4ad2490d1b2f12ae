// Command line of ltxvfs_bench, and the workload sizes it implies (default or --smoke).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ltxvfs::bench {

// How much work each figure does. The default must finish well inside 15 minutes on a 2-core
// machine; smoke only proves that every figure still runs (seconds, numbers meaningless).
struct Sizes {
  int runs = 5;        // repetitions of cheap measurements (medians)
  int heavy_runs = 3;  // repetitions of expensive ones (bulk load, lag, restore)
  // W1: transactions per run, by rows per transaction, for NORMAL and FULL.
  // Enough commits for several WAL checkpoints at NORMAL (a checkpoint waits for ltx's builder),
  // and about half a second to a second per run: runs of 0.1 s (the sizes before 2026-12-01)
  // moved by 5-10 % with any hiccup of this shared machine. FULL runs are a second too: at 0.4 s
  // one slow fdatasync stretch of the virtual disk moved a run by 20 %.
  int w1_txns_normal_1 = 20000;
  int w1_txns_normal_10 = 5000;
  int w1_txns_normal_1000 = 100;
  int w1_txns_full_1 = 4000;
  int w1_txns_full_10 = 2500;
  int w1_txns_full_1000 = 100;
  int64_t w2_rows = 1'000'000;
  int64_t w2_rows_per_txn = 100'000;
  // W3 at the default upload window: seconds of commits per rate (10 s holds one renewal of the
  // writer lease), and the rates; W3 without a window: seconds per rate.
  double w3_seconds = 10;
  std::vector<double> w3_rates = {100, 1000, 20000};
  double w3_eager_seconds = 3;
  double w8_seconds = 3;
  // W9 (speedtest1-like): rows of the big tables; the other phases scale with it.
  int64_t w9_rows = 50'000;
  uint64_t large_db_mb = 120;  // W4/W5 (the issue asks for at least 100 MB)
  int small_txns = 10'000;     // W5 and W6: small transactions on top
  // 0: open, create a table, one commit. 1 GB costs about 40 s on the reference machine (the
  // load through both VFS; it was 3 minutes while other builds shared the disk).
  std::vector<uint64_t> w7_db_mb = {0, 10, 1024};
  // W7 runs of databases of 100 MB and more (each writes the database twice, and the replica).
  int w7_large_runs = 3;
};

struct Options {
  bool smoke = false;
  Sizes sizes;
  std::set<std::string> only;  // figures to run ("W1".."W8"); empty = all
  std::string work_dir;
  std::string json_path;
  std::string markdown_path;
  std::string extension_path;
  std::string rss_writer_path;
  std::optional<std::string> moto;  // http://127.0.0.1:PORT
  // A second server that W4 and W5 also read from (a copy of moto's replica): s3rver answers a
  // ranged GET in proportion to the range, as S3 does, where moto copies the whole object.
  std::optional<std::string> s3rver;
  double latency_ms = 20;       // simulated store latency per request
  double bandwidth_mib_s = 64;  // per connection, for the read figures (W4, W5)
  std::string command_line;

  bool wants(const std::string& figure) const { return only.empty() || only.count(figure) > 0; }
};

// Parses argv; exits with usage on --help or bad input.
Options parse_options(int argc, char** argv);

}  // namespace ltxvfs::bench
