// The history engine against real stores (a directory; moto for S3), with a simulated clock the
// store's LastModified follows: hours of history in seconds. Restores are compared byte for byte
// with the model database the writer kept for every TXID.
#include <catch2/catch.hpp>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/time_spec.h"
#include "harness/s3_test_server.h"
#include "history/history_engine.h"
#include "history/level_compactor.h"
#include "history/remote_compactor.h"
#include "history/restorer.h"
#include "history_support.h"
#include "ltx/decoder.h"
#include "ltx/header.h"
#include "ltx/page_frame.h"
#include "storage/file_store.h"
#include "storage/store_factory.h"

using namespace historytest;
using namespace ltxvfs;
using ltxvfs::history::HistoryEngine;
using ltxvfs::history::HistoryPolicy;

namespace {

constexpr int64_t kStart = 1'800'000'000'000;  // a multiple of every interval used here

HistoryPolicy policy(std::vector<int64_t> levels, int64_t snapshot, int64_t retention,
                     int64_t grace) {
  HistoryPolicy p;
  p.level_intervals_ms = std::move(levels);
  p.snapshot_interval_ms = snapshot;
  p.retention_ms = retention;
  p.retention_grace_ms = grace;
  return p;
}

ltxvfs::history::CompactionWork work() {
  ltxvfs::history::CompactionWork w;
  w.temp_dir = scratch_dir("tmp-" + std::to_string(::getpid()));
  return w;
}

// Restores every TXID in `txids` and compares it with the writer's model.
void check_restores(ObjectStore& store, LayoutStyle layout, const L0Writer& writer,
                    const std::vector<uint64_t>& txids) {
  const auto files = ltxvfs::history::list_ltx_files(store, layout);
  for (uint64_t t : txids) {
    INFO("TXID " << t);
    const Restored r = restore_in_memory(store, files, t);
    REQUIRE(r.checksum == writer.checksum(t));
    REQUIRE(r.image == writer.image(t));
  }
}

// A writer committing one transaction per simulated second (every 7th a group of 3), the engine
// run whenever it says something is due, for `seconds`.
struct Simulation {
  std::atomic<int64_t> now{kStart};
  SimTimeStore store;
  LayoutStyle layout;
  L0Writer writer;
  HistoryEngine engine;
  int64_t next_due = kStart;
  std::vector<ltxvfs::history::WrittenFile> written;
  std::vector<std::pair<int64_t, ltxvfs::history::RetentionDecision>> deleted;  // when, what
  std::map<int64_t, uint64_t> txid_at;  // simulated time -> newest TXID committed by then

  Simulation(ObjectStore& inner, LayoutStyle style, OutputFormat format, HistoryPolicy p)
      : store(inner, now),
        layout(style),
        writer(store, style, L0Writer::Options{format, 512, 12, 40, true, 7}),
        engine(store, style, format, std::move(p), work()) {}

  // Returns after each engine run so a test can check invariants there.
  template <typename AfterRun>
  void run(int64_t seconds, AfterRun after_run) {
    const int64_t end = now + seconds * 1000;
    while (now < end) {
      writer.commit(now, writer.txid() % 7 == 6 ? 3 : 1);
      txid_at[now] = writer.txid();
      if (now >= next_due) {
        auto report = engine.run_due(now);
        for (auto& w : report.written) written.push_back(w);
        for (auto& d : report.deleted) deleted.emplace_back(now.load(), d);
        REQUIRE(report.next_due_ms > now);
        next_due = report.next_due_ms;
        after_run(report);
      }
      now += 1000;
    }
  }
};

}  // namespace

TEST_CASE("engine: restores after compaction equal restores before, at every TXID", "[engine]") {
  for (auto format : {OutputFormat::kNative, OutputFormat::kLitestream}) {
    INFO((format == OutputFormat::kNative ? "native" : "litestream"));
    const std::string dir = scratch_dir("equal");
    storage::FileStore fs(dir);
    // Retention off: every TXID the writer uploaded must stay restorable, through any level.
    Simulation sim(fs, LayoutStyle::kDirectory, format,
                   policy({10'000, 60'000, 300'000}, 600'000, 0, 0));
    const auto before_each = [&](const ltxvfs::history::HistoryRunReport&) {};
    sim.run(1300, before_each);
    const auto files = ltxvfs::history::list_ltx_files(sim.store, sim.layout);
    const auto totals = level_totals(files);
    CHECK(totals.count(1) == 1);
    CHECK(totals.count(2) == 1);
    CHECK(totals.count(3) == 1);
    CHECK(totals.count(9) == 1);
    // Every TXID that ends an object (each transaction was uploaded on its own or in a group).
    const auto txids = restorable_txids(sim.store, sim.layout);
    std::set<uint64_t> ends;
    for (const auto& f : files) {
      if (f.level == 0) ends.insert(f.max_txid);
    }
    CHECK(std::set<uint64_t>(txids.begin(), txids.end()) == ends);
    check_restores(sim.store, sim.layout, sim.writer, txids);
    // The newest is restored from the newest snapshot and whole level files.
    const auto plan = ltxvfs::history::plan_restore(files, sim.writer.txid());
    CHECK(plan.front().level == storage::kSnapshotLevel);
    CHECK(plan.size() <= 1 + 2 + 5 + 6 + 10 + 3);
    // Level files line up: each level's files are contiguous, and every level-n boundary is a
    // level n-1 boundary.
    for (uint32_t level = 1; level <= 3; ++level) {
      uint64_t prev = 0;
      std::set<uint64_t> lower_ends;
      for (const auto& f : files) {
        if (f.level == level - 1) lower_ends.insert(f.max_txid);
      }
      for (const auto& f : files) {
        if (f.level != level) continue;
        if (prev != 0) CHECK(f.min_txid == prev + 1);
        CHECK(lower_ends.count(f.max_txid) == 1);
        prev = f.max_txid;
      }
    }
    // Compactions copied frames: the inputs are in the output's encoding.
    uint64_t copied = 0, reencoded = 0;
    for (const auto& w : sim.written) {
      copied += w.pages_copied;
      reencoded += w.pages_reencoded;
    }
    CHECK(copied > 0);
    CHECK(reencoded == 0);
  }
}

TEST_CASE("engine: retention keeps every restore point in the window and never breaks a chain",
          "[engine][retention]") {
  // A property test over random histories: several seeds, group sizes and policies.
  for (uint64_t seed : {1, 2, 3}) {
    INFO("seed " << seed);
    const std::string dir = scratch_dir("retention");
    storage::FileStore fs(dir);
    const int64_t retention = 400'000 + static_cast<int64_t>(seed) * 100'000;
    const int64_t grace = 20'000 * static_cast<int64_t>(seed);
    Simulation sim(fs, LayoutStyle::kDirectory,
                   seed % 2 ? OutputFormat::kNative : OutputFormat::kLitestream,
                   policy({10'000, 60'000, 240'000}, 480'000, retention, grace));
    // What the engine wrote, and when: the restore points it promised to keep.
    sim.run(2400, [&](const ltxvfs::history::HistoryRunReport&) {
      const auto files = ltxvfs::history::list_ltx_files(sim.store, sim.layout);
      const ltxvfs::history::RestoreGraph graph(files);
      // The newest always, from a bounded number of files: the snapshot, then at most one top
      // level interval of level-3 files (480s / 240s + 1), of level-2 files (240s / 60s + 1), of
      // level-1 files (60s / 10s + 1) and of level-0 files (10 s, 11 uploads).
      REQUIRE(graph.newest() == sim.writer.txid());
      CHECK(graph.chain_indexes(graph.newest()).size() <= 1 + 3 + 5 + 7 + 11);
      // No level is stuck: a level behind the one below it has its next inputs (retention kept
      // the compaction frontier even where a snapshot covers it).
      for (uint32_t level = 1; level <= 3; ++level) {
        if (ltxvfs::history::level_max_txid(files, level - 1) >
            ltxvfs::history::level_max_txid(files, level)) {
          INFO("level " << level);
          REQUIRE_FALSE(ltxvfs::history::level_inputs(files, level).empty());
        }
      }
      // Every restore point inside the window: the ends of top-level compactions and snapshots
      // written in it, and the ends of lower-level files no higher level has compacted yet.
      for (const auto& w : sim.written) {
        if (w.file.last_modified_ms < sim.now - retention) continue;
        const bool superseded =
            w.file.level < 3 &&
            w.file.max_txid <= ltxvfs::history::level_max_txid(files, w.file.level + 1);
        if (superseded) continue;
        INFO("point " << w.file.max_txid << " (level " << w.file.level << ") written at "
                      << w.file.last_modified_ms);
        REQUIRE(graph.restorable(w.file.max_txid));
      }
      // A restore to the start of the window works: something committed at or before it is
      // still restorable.
      const auto txids = graph.restorable_txids();
      REQUIRE_FALSE(txids.empty());
      const auto at_start = sim.txid_at.upper_bound(sim.now - retention);
      if (at_start != sim.txid_at.begin()) CHECK(txids.front() <= std::prev(at_start)->second);
    });
    // At the end: every restorable TXID restores the right bytes (no chain broken anywhere).
    check_restores(sim.store, sim.layout, sim.writer, restorable_txids(sim.store, sim.layout));
    CHECK_FALSE(sim.deleted.empty());
    // Bounded: far fewer objects than transactions.
    const auto files = ltxvfs::history::list_ltx_files(sim.store, sim.layout);
    CHECK(files.size() < sim.writer.txid() / 3);
  }
}

// Issue 16, item 8: a writer ran 30 s with levels=5s,20s; then `ltxvfs compact --snapshot` and
// `ltxvfs retention` with a short grace left one restore point of 62, although the schedule
// keeps every upload of the current level-1 interval and one point per level-1 interval in the
// current level-2 interval. A compaction run by hand now takes only what the schedule would
// have compacted by then, so every point the writer's schedule kept inside the top level's
// current interval stays restorable.
TEST_CASE("engine: a compaction by hand keeps the restore points of the schedule",
          "[engine][retention]") {
  const std::string dir = scratch_dir("manual-compact");
  storage::FileStore fs(dir);
  Simulation sim(fs, LayoutStyle::kDirectory, OutputFormat::kNative,
                 policy({5'000, 20'000}, 24 * 3'600'000LL, 24 * 3'600'000LL, 1'000));
  sim.run(33, [](const ltxvfs::history::HistoryRunReport&) {});
  const auto before = restorable_txids(sim.store, sim.layout);
  const int64_t top_window = kStart + 20'000;  // the level-2 interval the run ended in
  std::vector<uint64_t> promised;
  for (uint64_t t : before) {
    const auto at = std::find_if(sim.txid_at.begin(), sim.txid_at.end(),
                                 [&](const auto& e) { return e.second >= t; });
    if (at != sim.txid_at.end() && at->first >= top_window) promised.push_back(t);
  }
  REQUIRE(promised.size() >= 4);  // uploads after 30 s, level-1 boundaries after 20 s

  auto report = sim.engine.run_now(
      sim.now,
      {.levels = true, .snapshot = true, .retention = false, .keep_schedule_points = true});
  CHECK_FALSE(report.written.empty());  // the snapshot at least
  sim.now += 2'000;                     // past the grace period
  sim.engine.run_now(sim.now, {.levels = false, .snapshot = false, .retention = true});
  const auto after = restorable_txids(sim.store, sim.layout);
  for (uint64_t t : promised) {
    INFO("TXID " << t << " was restorable before the compaction by hand");
    CHECK(std::find(after.begin(), after.end(), t) != after.end());
  }
  check_restores(sim.store, sim.layout, sim.writer, after);
}

// Issue 16, item 10: a writer process that lives a few milliseconds makes a new engine at every
// open, and a close can stop a run between two output files. What is due comes from the store
// alone: a fresh engine carries on where the stopped run left off, in the same interval. (Before,
// level 1 counted as done for the interval once it had any file written in it.)
TEST_CASE("engine: a fresh engine carries on a run stopped between two output files", "[engine]") {
  const std::string dir = scratch_dir("resume");
  storage::FileStore fs(dir);
  std::atomic<int64_t> now{kStart};
  SimTimeStore store(fs, now);
  L0Writer writer(store, LayoutStyle::kDirectory, L0Writer::Options{});
  for (int i = 0; i < 10; ++i) {
    writer.commit(now);
    now += 1000;
  }
  const HistoryPolicy p = policy({30'000}, 0, 0, 0);
  // The stopped run: level 1 at kStart + 30 s wrote the first of its outputs, TXIDs 1-5.
  now = kStart + 30'000;
  auto files = ltxvfs::history::list_ltx_files(store, LayoutStyle::kDirectory);
  files.resize(5);
  ltxvfs::history::RemoteCompactor(store, LayoutStyle::kDirectory, OutputFormat::kNative, work())
      .write(1, files, now);
  // The next connection, in the same interval.
  now += 50;
  HistoryEngine engine(store, LayoutStyle::kDirectory, OutputFormat::kNative, p, work());
  const auto report = engine.run_due(now);
  REQUIRE(report.written.size() == 1);
  CHECK(report.written[0].file.level == 1);
  CHECK(report.written[0].file.min_txid == 6);
  CHECK(report.written[0].file.max_txid == 10);
  // Nothing is left from before the interval: the run after it has nothing to do.
  now += 50;
  CHECK(HistoryEngine(store, LayoutStyle::kDirectory, OutputFormat::kNative, p, work())
            .run_due(now)
            .written.empty());
  check_restores(store, LayoutStyle::kDirectory, writer, {5, 10});
}

TEST_CASE("engine: the grace period is honoured", "[engine][retention]") {
  const std::string dir = scratch_dir("grace");
  storage::FileStore fs(dir);
  const int64_t grace = 45'000;
  Simulation sim(fs, LayoutStyle::kDirectory, OutputFormat::kNative,
                 policy({10'000, 60'000}, 300'000, 200'000, grace));
  // Plans pinned by "readers" at each run: every file of each must outlive the pin by the grace
  // period.
  std::vector<std::pair<int64_t, std::vector<RemoteFile>>> pinned;
  sim.run(1200, [&](const ltxvfs::history::HistoryRunReport&) {
    const auto files = ltxvfs::history::list_ltx_files(sim.store, sim.layout);
    std::set<std::string> present;
    for (const auto& f : files) present.insert(f.key);
    for (const auto& [at, plan] : pinned) {
      if (sim.now >= at + grace) continue;
      for (const auto& f : plan) {
        INFO("pinned at " << at << ", now " << sim.now.load());
        REQUIRE(present.count(f.key) == 1);
      }
    }
    pinned.emplace_back(sim.now.load(), ltxvfs::history::plan_restore(files, sim.writer.txid()));
  });
  // Every deleted file had been replaced (compacted into a higher level, or covered by a
  // snapshot) at least a grace period before.
  size_t level0 = 0, higher = 0;
  for (const auto& [when, d] : sim.deleted) {
    ++(d.file.level == 0 ? level0 : higher);
    bool covered_long_enough = false;
    for (const auto& w : sim.written) {
      const bool replaces = w.file.level > d.file.level ||
                            (w.file.level == d.file.level && w.file.max_txid > d.file.max_txid);
      if (replaces && w.file.min_txid <= d.file.max_txid && d.file.max_txid <= w.file.max_txid &&
          w.file.last_modified_ms + grace <= when) {
        covered_long_enough = true;
      }
    }
    INFO(d.file.key << " deleted at " << when << ": " << d.reason);
    CHECK(covered_long_enough);
  }
  CHECK(higher > 10);
  CHECK(level0 > 100);
}

TEST_CASE("engine: readers restoring while the engine compacts and deletes never see wrong data",
          "[engine][concurrent]") {
  // Real threads and the real clock: a writer uploading, the engine running every step as fast as
  // it can with a 1.5 s grace period, and readers planning and restoring the newest TXID.
  const std::string dir = scratch_dir("concurrent");
  storage::FileStore fs(dir);
  std::mutex mu;  // guards the writer's model
  L0Writer writer(fs, LayoutStyle::kDirectory,
                  L0Writer::Options{OutputFormat::kNative, 512, 12, 40, false, 3});
  {
    std::lock_guard lock(mu);
    writer.commit(ltxvfs::base::now_ms());
  }
  HistoryEngine engine(fs, LayoutStyle::kDirectory, OutputFormat::kNative,
                       policy({20, 100, 400}, 800, 2000, 1500), work());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> restores{0}, engine_runs{0}, deleted{0};
  std::string failure;
  std::thread writer_thread([&] {
    while (!stop) {
      {
        std::lock_guard lock(mu);
        writer.commit(ltxvfs::base::now_ms(), 1 + static_cast<int>(writer.txid() % 3));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::thread engine_thread([&] {
    try {
      while (!stop) {
        deleted +=
            engine.run_now(ltxvfs::base::now_ms(), ltxvfs::history::RunNowOptions{true, true, true})
                .deleted.size();
        ++engine_runs;
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mu);
      failure = std::string("engine: ") + e.what();
    }
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      try {
        while (!stop) {
          const auto files = ltxvfs::history::list_ltx_files(fs, LayoutStyle::kDirectory);
          const uint64_t txid = ltxvfs::history::RestoreGraph(files).newest();
          const Restored got = restore_in_memory(fs, files, txid);
          uint64_t expected;
          {
            std::lock_guard lock(mu);
            expected = writer.checksum(txid);
          }
          if (got.checksum != expected)
            throw std::runtime_error("wrong data at " + std::to_string(txid));
          ++restores;
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        failure = std::string("reader: ") + e.what();
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(6));
  stop = true;
  writer_thread.join();
  engine_thread.join();
  for (auto& t : readers) t.join();
  INFO(restores.load() << " restores, " << engine_runs.load() << " engine runs");
  CHECK(failure.empty());
  CHECK(restores > 20);
  CHECK(engine_runs > 20);
  // Retention did delete while the readers read.
  CHECK(deleted > 100);
}

TEST_CASE("engine: Litestream's layout and format in a directory", "[engine][litestream]") {
  const std::string dir = scratch_dir("layout-dir");
  storage::FileStore fs(dir);
  Simulation sim(fs, LayoutStyle::kDirectory, OutputFormat::kLitestream,
                 policy({10'000, 60'000}, 120'000, 0, 0));
  sim.run(200, [](const ltxvfs::history::HistoryRunReport&) {});
  // <dir>/ltx/<level in decimal>/<min>-<max>.ltx
  std::set<uint32_t> levels;
  for (const auto& o : fs.list("")) {
    const auto k = storage::parse_ltx_key(LayoutStyle::kDirectory, o.key);
    REQUIRE(k);
    levels.insert(k->level);
    CHECK(o.key.rfind("ltx/" + std::to_string(k->level) + "/", 0) == 0);
  }
  CHECK(levels == std::set<uint32_t>{0, 1, 2, 9});
  for (const auto& w : sim.written) {
    auto got = fs.get(w.file.key);
    ltx::MemorySource src(got.body);
    const auto summary = ltx::verify_file(src, w.file.key);
    CHECK(summary.header.flags == ltx::kHeaderFlagNoChecksum);
    CHECK(summary.header.pre_apply_checksum == 0);
    CHECK(summary.trailer.post_apply_checksum == 0);
    for (const auto& e : summary.index.entries) {
      const auto h = ltx::PageHeader::decode(std::span(got.body).subspan(e.offset).first<6>());
      CHECK(h.flags == 0);  // LZ4 frame: what every Litestream v0.5 release reads
    }
    CHECK(got.metadata.at("litestream-timestamp") ==
          ltxvfs::base::format_rfc3339_ms(w.header.timestamp_ms));
  }
}

TEST_CASE("engine: Litestream's layout on S3, and restores equal before and after (moto)",
          "[engine][moto]") {
  auto bucket = testing::make_test_bucket(testing::Server::kMoto);
  auto opened = storage::open_store(bucket.url("app"), bucket.settings);
  REQUIRE(opened.layout == LayoutStyle::kS3);
  Simulation sim(*opened.store, opened.layout, OutputFormat::kLitestream,
                 policy({10'000, 60'000}, 120'000, 150'000, 20'000));
  sim.run(260, [](const ltxvfs::history::HistoryRunReport&) {});
  // <prefix>/<level as %04x>/<min>-<max>.ltx; moto sees the prefix too.
  std::set<std::string> level_dirs;
  for (const auto& o : opened.store->list("")) {
    const auto k = storage::parse_ltx_key(LayoutStyle::kS3, o.key);
    REQUIRE(k);
    char want[8];
    std::snprintf(want, sizeof want, "%04x/", k->level);
    CHECK(o.key.substr(0, 5) == want);
    level_dirs.insert(o.key.substr(0, 4));
  }
  CHECK(level_dirs == std::set<std::string>{"0000", "0001", "0002", "0009"});
  CHECK_FALSE(sim.deleted.empty());
  for (const auto& w : sim.written) {
    if (!opened.store->head(w.file.key)) continue;  // removed by retention since
    auto got = opened.store->get(w.file.key, storage::ByteRange::at(0, 100));
    CHECK(got.metadata.at("litestream-timestamp") ==
          ltxvfs::base::format_rfc3339_ms(w.header.timestamp_ms));
  }
  check_restores(sim.store, sim.layout, sim.writer, restorable_txids(sim.store, sim.layout));
  // Restore by time uses the levels' timestamps once level 0 is gone.
  const auto files = ltxvfs::history::list_ltx_files(*opened.store, opened.layout);
  const ltxvfs::history::RestoreGraph graph(files);
  size_t by_time = 0;
  for (uint64_t t : graph.restorable_txids()) {
    bool only_compacted = true;
    for (const auto& f : files) {
      if (f.max_txid == t && f.level == 0) only_compacted = false;
    }
    if (!only_compacted) continue;
    // The writer stamped TXID t at kStart + (index of its commit) seconds: find that time from
    // the files' headers, then ask for the TXID at it.
    auto head =
        opened.store->get(files[graph.chain_end(t).value()].key, storage::ByteRange::at(0, 100));
    const auto h = ltx::Header::decode(head.body);
    CHECK(ltxvfs::history::txid_at_time(*opened.store, files, h.timestamp_ms) == t);
    ++by_time;
  }
  CHECK(by_time > 5);
}
