// Measurements (hidden; run: build/tests/history/history_tests "[history-bench]", about 4
// minutes; results are printed): histories of 100 to 100,000 commits uploaded as level-0 files, one
// per simulated second (upload_interval_ms=0), with the history engine run whenever it says
// something is due, at Litestream's default policy (levels 30s,5m,1h, snapshots every 24h,
// retention 24h, grace 5m). Reports what a replica open and a restore cost, and what the store
// holds.
#include <catch2/catch.hpp>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <random>

#include "history/history_engine.h"
#include "history_support.h"
#include "storage/file_store.h"

using namespace historytest;
using namespace ltxvfs;

namespace {

constexpr int64_t kStart = 1'800'000'000'000;
constexpr size_t kListPage = 1000;  // keys per S3 ListObjectsV2 page

struct Workload {
  const char* name;
  uint32_t initial_pages;
  uint32_t max_pages;
};

void run_workload(const Workload& w, const std::vector<uint64_t>& checkpoints) {
  const std::string dir = scratch_dir(std::string("bench-") + w.name);
  storage::FileStore fs(dir);
  std::atomic<int64_t> now{kStart};
  SimTimeStore store(fs, now);
  const LayoutStyle layout = LayoutStyle::kDirectory;
  L0Writer writer(
      store, layout,
      L0Writer::Options{OutputFormat::kNative, 512, w.initial_pages, w.max_pages, false, 99});
  const ltxvfs::history::HistoryPolicy policy;  // the defaults
  ltxvfs::history::CompactionWork work;
  work.temp_dir = scratch_dir(std::string("bench-tmp-") + w.name);
  ltxvfs::history::HistoryEngine engine(store, layout, OutputFormat::kNative, policy, work);

  std::printf("\n%s: %u-%u pages of 512 B, 1 commit/s uploaded alone, policy %s\n", w.name,
              w.initial_pages, w.max_pages, policy.describe().c_str());
  std::printf("%9s %8s %9s %10s %11s %12s %12s %10s %9s %9s\n", "commits", "objects", "restore",
              "restore", "worst", "open", "store", "db", "window", "store/");
  std::printf("%9s %8s %9s %10s %11s %12s %12s %10s %9s %9s\n", "", "", "files", "bytes", "restore",
              "requests", "bytes", "bytes", "L0 bytes", "(2db+win)");
  int64_t next_due = kStart;
  size_t worst_newest = 0;  // over every engine run, the newest TXID's restore
  std::deque<std::pair<int64_t, uint64_t>> uploads;  // (time, bytes) in the last 24h
  uint64_t window_bytes = 0;
  uint64_t last_uploaded = 0;
  std::mt19937_64 rng(5);
  const auto t0 = std::chrono::steady_clock::now();
  size_t next_checkpoint = 0;
  for (uint64_t commit = 1; next_checkpoint < checkpoints.size(); ++commit) {
    writer.commit(now);
    const uint64_t bytes = writer.bytes_uploaded() - last_uploaded;
    last_uploaded = writer.bytes_uploaded();
    uploads.emplace_back(now.load(), bytes);
    window_bytes += bytes;
    while (uploads.front().first < now - policy.retention_ms) {
      window_bytes -= uploads.front().second;
      uploads.pop_front();
    }
    if (now >= next_due) {
      const auto report = engine.run_due(now);
      next_due = report.next_due_ms;
      const auto files = ltxvfs::history::list_ltx_files(fs, layout);
      const ltxvfs::history::RestoreGraph graph(files);
      REQUIRE(graph.newest() == writer.txid());
      worst_newest = std::max(worst_newest, graph.chain_indexes(graph.newest()).size());
    }
    if (commit == checkpoints[next_checkpoint]) {
      ++next_checkpoint;
      const auto files = ltxvfs::history::list_ltx_files(fs, layout);
      const ltxvfs::history::RestoreGraph graph(files);
      uint64_t store_bytes = 0;
      for (const auto& f : files) store_bytes += f.size;
      // Every restorable TXID: the longest chain.
      size_t worst = 0;
      for (uint64_t t : graph.restorable_txids()) {
        worst = std::max(worst, graph.chain_indexes(t).size());
      }
      const Restored newest = restore_in_memory(fs, files, writer.txid());
      REQUIRE(newest.checksum == writer.checksum(writer.txid()));
      // A few points inside the window restore the right database too.
      const auto txids = graph.restorable_txids();
      for (int i = 0; i < 5; ++i) {
        const uint64_t t = txids[rng() % txids.size()];
        REQUIRE(restore_in_memory(fs, files, t).checksum == writer.checksum(t));
      }
      // A replica open: the listing (pages of 1000 keys), then one tail read per chain file.
      const size_t open = (files.size() + kListPage - 1) / kListPage + newest.files;
      const double ratio = static_cast<double>(store_bytes) /
                           static_cast<double>(2 * writer.database_bytes() + window_bytes);
      std::printf("%9" PRIu64 " %8zu %9zu %10" PRIu64 " %11zu %12zu %12" PRIu64 " %10" PRIu64
                  " %9" PRIu64 " %9.2f\n",
                  commit, files.size(), newest.files, newest.bytes, worst, open, store_bytes,
                  writer.database_bytes(), window_bytes, ratio);
      std::string per_level, chain;
      for (const auto& [level, t] : level_totals(files)) {
        per_level += " L" + std::to_string(level) + ":" + std::to_string(t.first);
      }
      for (size_t i : graph.chain_indexes(writer.txid())) {
        chain += " L" + std::to_string(files[i].level) + ":" + std::to_string(files[i].min_txid) +
                 "-" + std::to_string(files[i].max_txid);
      }
      std::printf("          files per level:%s\n", per_level.c_str());
      if (std::getenv("LTXVFS_BENCH_CHAIN") != nullptr)
        std::printf("          chain:%s\n", chain.c_str());
      std::fflush(stdout);
    }
    now += 1000;
  }
  std::printf("worst restore of the newest TXID after any engine run: %zu files; %.0f s, %" PRIu64
              " PUTs, %" PRIu64 " GETs, %" PRIu64 " LISTs, %" PRIu64 " deletes\n",
              worst_newest,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              store.puts.load(), store.gets.load(), store.lists.load(), store.deletes.load());
}

}  // namespace

TEST_CASE("bench: restore and open cost stay bounded as history grows",
          "[.][bench][history-bench]") {
  const std::vector<uint64_t> checkpoints = {100, 1'000, 10'000, 30'000, 60'000, 100'000};
  // A small database that every commit rewrites a part of, and a larger one written at random.
  // LTXVFS_BENCH_WORKLOAD=hot|scattered runs one; LTXVFS_BENCH_CHAIN=1 prints the newest's chain.
  const char* only = std::getenv("LTXVFS_BENCH_WORKLOAD");
  for (const Workload& w : {Workload{"hot", 12, 40}, Workload{"scattered", 2000, 2000}}) {
    if (only == nullptr || std::string(only) == w.name) run_workload(w, checkpoints);
  }
}
