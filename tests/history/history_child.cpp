// The history engine in a process of its own, for crash tests: runs every step (all levels, a
// snapshot, retention) over a directory replica again and again with the real clock, until it is
// killed.
//
//   history_child <replica-dir> <native|litestream> <levels> <snapshot_interval> <retention>
//                 <retention_grace> <temp-dir>
#include <cstdio>
#include <exception>
#include <string>

#include "base/time_spec.h"
#include "history/history_engine.h"
#include "history/history_policy.h"
#include "storage/file_store.h"

int main(int argc, char** argv) {
  using namespace ltxvfs;
  if (argc != 8) {
    std::fprintf(stderr,
                 "usage: history_child <dir> <format> <levels> <snapshot_interval> "
                 "<retention> <retention_grace> <temp-dir>\n");
    return 2;
  }
  try {
    ltxvfs::history::HistoryPolicy p;
    p.level_intervals_ms = ltxvfs::history::parse_levels("levels", argv[3]);
    p.snapshot_interval_ms =
        ltxvfs::history::parse_duration_or_off_ms("snapshot_interval", argv[4]);
    p.retention_ms = ltxvfs::history::parse_duration_or_off_ms("retention", argv[5]);
    p.retention_grace_ms = ltxvfs::history::parse_duration_ms("retention_grace", argv[6]);
    ltxvfs::history::CompactionWork work;
    work.temp_dir = argv[7];
    storage::FileStore store(argv[1]);
    const auto format = std::string(argv[2]) == "litestream" ? ltx::OutputFormat::kLitestream
                                                             : ltx::OutputFormat::kNative;
    ltxvfs::history::HistoryEngine engine(store, storage::LayoutStyle::kDirectory, format, p, work);
    for (unsigned i = 0;; ++i) {
      // Alternate the interval-driven run with forced ones, so every step happens often.
      if (i % 2 == 0) {
        engine.run_due(ltxvfs::base::now_ms());
      } else {
        engine.run_now(ltxvfs::base::now_ms(), ltxvfs::history::RunNowOptions{true, true, true});
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "history_child: %s\n", e.what());
    return 1;
  }
}
