// The history engine compacts a level early, before its interval, when the short page indexes
// of the files it would take pile up (HistoryPolicy::early_index_bytes, issue 17: a replica's
// open reads the index of every file of its chain, and a fast writer's level 0 grew to 210 files
// and 2.17 MiB of indexes within one interval). What counts is the head's tail hints, as a
// replica's open reads them: an index with a directory is read lazily and counts nothing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "history/committed_history.h"
#include "history/head_record.h"
#include "history/history_engine.h"
#include "history/restore_plan.h"
#include "history_support.h"
#include "storage/file_store.h"

using namespace historytest;
using namespace ltxvfs;
using ltxvfs::history::HeadRecord;
using ltxvfs::history::HistoryEngine;
using ltxvfs::history::HistoryPolicy;
using ltxvfs::history::HistoryRunReport;
using ltxvfs::history::TailHint;

namespace {

constexpr int64_t kStart = 1'800'000'000'000;  // a multiple of every interval used here
constexpr auto kLayout = LayoutStyle::kDirectory;
constexpr uint64_t kBudget = 1000;

HistoryPolicy early_policy() {
  HistoryPolicy p;
  p.level_intervals_ms = {30'000, 300'000};
  p.snapshot_interval_ms = 0;
  p.retention_ms = 0;
  p.early_index_bytes = kBudget;
  return p;
}

history::CompactionWork work() {
  history::CompactionWork w;
  w.temp_dir = scratch_dir("tmp-" + std::to_string(::getpid()));
  return w;
}

struct Replica {
  storage::FileStore files;
  SimTimeStore timed;
  L0Writer writer;
  HistoryEngine engine;

  Replica(const std::string& dir, const std::atomic<int64_t>& now,
          HistoryPolicy policy = early_policy(), history::CompactionWork w = work())
      : files(dir),
        timed(files, now),
        writer(timed, kLayout, L0Writer::Options{}),
        engine(timed, kLayout, OutputFormat::kNative, std::move(policy), std::move(w)) {}

  // Writes head.json at the writer's TXID with a tail hint of `tail_bytes` for every file of
  // `level` above `above_txid` (with a directory when `with_directory`, the newest only).
  void write_head(uint32_t level, uint64_t above_txid, uint64_t tail_bytes,
                  bool with_directory = false) {
    HeadRecord head;
    if (auto old = history::read_head(timed, kLayout); old && old->record) head = *old->record;
    head.txid = writer.txid();
    const auto listed = history::list_all_ltx_files(timed, kLayout);
    for (size_t i = 0; i < listed.size(); ++i) {
      const auto& f = listed[i];
      if (f.level != level || f.min_txid <= above_txid) continue;
      TailHint hint{f.level, f.min_txid, f.max_txid, f.size, tail_bytes};
      const bool newest = i + 1 == listed.size() || listed[i + 1].level != level;
      if (with_directory && newest) hint.directory = {{1, 0, 100}};
      head.add_tail(hint);
    }
    const std::string json = head.to_json();
    timed.put(storage::head_key(kLayout),
              std::span(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
  }
};

}  // namespace

TEST_CASE("engine: a level is compacted early when its inputs' short indexes pile up",
          "[engine][early]") {
  std::atomic<int64_t> now{kStart};
  Replica r(scratch_dir("early-level"), now);
  uint64_t uploads = 0;
  // The first run finds levels 1 and 2 empty, hence due, and takes TXIDs 1-2.
  for (int i = 0; i < 2; ++i, ++uploads, now += 1000) r.writer.commit(now);
  r.write_head(0, 0, 100);
  REQUIRE(r.engine.run_due(now, std::nullopt, uploads).written.size() == 2);
  const uint64_t covered = r.writer.txid();

  // Four more level-0 files within level 1's interval, 300 index bytes each in the head: 1,200,
  // over the budget, but the newest has a directory (its index is not read by an open): 900.
  for (int i = 0; i < 4; ++i, ++uploads, now += 1000) r.writer.commit(now);
  r.write_head(0, covered, 300, /*with_directory=*/true);
  ++uploads;  // the head's advance
  CHECK(r.engine.run_due(now, std::nullopt, uploads).written.empty());
  // Without a hint a file counts nothing either (the head commits it and names no tail).
  r.writer.commit(now);
  now += 1000;
  r.write_head(0, r.writer.txid(), 300);
  uploads += 2;
  CHECK(r.engine.run_due(now, std::nullopt, uploads).written.empty());

  // The same files with short indexes: 1,500 bytes. Level 1 takes them, 25 s before its interval.
  r.write_head(0, covered, 300);
  ++uploads;
  REQUIRE(now < kStart + 30'000);
  const HistoryRunReport early = r.engine.run_due(now, std::nullopt, uploads);
  REQUIRE(early.written.size() == 1);
  CHECK(early.written[0].file.level == 1);
  CHECK(early.written[0].file.min_txid == covered + 1);
  CHECK(early.written[0].file.max_txid == r.writer.txid());
  // Level 2 took nothing: its inputs (level 1's files) have no hints yet.
  // Nothing is due now: the indexes beyond level 1 count nothing, and a run reads and writes none.
  now += 1000;
  CHECK(r.engine.run_due(now, std::nullopt, uploads).written.empty());

  // Level 2 in turn, once the head gives level 1's files short indexes over the budget: not for
  // one file (it would only move up), but once level 1 holds two. The second comes early too,
  // in the same run as level 2's: four more level-0 files of 300 bytes each.
  r.write_head(1, covered, 1200);
  ++uploads;
  now += 1000;
  CHECK(r.engine.run_due(now, std::nullopt, uploads).written.empty());
  const uint64_t first_level1 = r.writer.txid();
  for (int i = 0; i < 4; ++i, ++uploads, now += 1000) r.writer.commit(now);
  r.write_head(0, first_level1, 300);
  ++uploads;
  const HistoryRunReport second = r.engine.run_due(now, std::nullopt, uploads);
  REQUIRE(second.written.size() == 2);
  CHECK(second.written[0].file.level == 1);
  CHECK(second.written[0].file.min_txid == first_level1 + 1);
  CHECK(second.written[1].file.level == 2);
  CHECK(second.written[1].file.min_txid == covered + 1);
  CHECK(second.written[1].file.max_txid == r.writer.txid());

  // Every TXID still restores to what the writer committed.
  for (const uint64_t txid : restorable_txids(r.timed, kLayout)) {
    CHECK(restore_in_memory(r.timed, kLayout, txid).checksum == r.writer.checksum(txid));
  }
  CHECK(restorable_txids(r.timed, kLayout).back() == r.writer.txid());
}

TEST_CASE("engine: an early output's own short index counts for the next level in the same run",
          "[engine][early]") {
  std::atomic<int64_t> now{kStart};
  HistoryPolicy policy = early_policy();
  policy.early_index_bytes = 10;  // less than any output's index: every level cascades
  history::CompactionWork w = work();
  w.written = [](const history::WrittenFile&) {};  // outputs then come with their hints
  Replica r(scratch_dir("early-cascade"), now, policy, w);
  r.writer.commit(now);
  now += 1000;
  REQUIRE(r.engine.run_due(now).written.size() == 2);  // empty levels are due
  // Level-0 files after `from`, each named in the head with a 300-byte index.
  const auto commit_three = [&](uint64_t from) {
    for (int i = 0; i < 3; ++i, now += 1000) r.writer.commit(now);
    r.write_head(0, from, 300);
  };
  // Level 1 takes TXIDs 2-4 early; its output alone does not move up.
  commit_three(1);
  const HistoryRunReport first = r.engine.run_due(now);
  REQUIRE(first.written.size() == 1);
  CHECK(first.written[0].file.level == 1);
  CHECK(first.written[0].hints.tail_bytes > policy.early_index_bytes);
  // Level 1 takes TXIDs 5-7; with the first, its output (no directory, over 10 bytes) makes level
  // 2 due in the same run, before any head names either.
  commit_three(4);
  const HistoryRunReport run = r.engine.run_due(now);
  REQUIRE(run.written.size() == 2);
  CHECK(run.written[0].file.level == 1);
  CHECK(run.written[0].file.min_txid == 5);
  CHECK(run.written[1].file.level == 2);
  CHECK(run.written[1].file.min_txid == 2);
  CHECK(run.written[1].file.max_txid == r.writer.txid());
}

TEST_CASE("engine: a single input is not compacted early, it would only move up a level",
          "[engine][early]") {
  std::atomic<int64_t> now{kStart};
  Replica r(scratch_dir("early-single"), now);
  r.writer.commit(now);
  now += 1000;
  r.write_head(0, 0, 100);
  REQUIRE(r.engine.run_due(now).written.size() == 2);  // empty levels are due
  const uint64_t covered = r.writer.txid();
  r.writer.commit(now);
  now += 1000;
  r.write_head(0, covered, 2 * kBudget);  // one file, twice the budget
  CHECK(r.engine.run_due(now).written.empty());
  r.writer.commit(now);
  now += 1000;
  r.write_head(0, covered, 2 * kBudget);  // a second one: both go
  const HistoryRunReport two = r.engine.run_due(now);
  REQUIRE_FALSE(two.written.empty());
  CHECK(two.written[0].file.level == 1);
  CHECK(two.written[0].file.min_txid == covered + 1);
  CHECK(two.written[0].file.max_txid == r.writer.txid());
}

TEST_CASE("engine: without the early budget a level waits for its interval", "[engine][early]") {
  std::atomic<int64_t> now{kStart};
  HistoryPolicy policy = early_policy();
  policy.early_index_bytes = 0;
  Replica r(scratch_dir("early-off"), now, policy);
  r.writer.commit(now);
  now += 1000;
  REQUIRE(r.engine.run_due(now).written.size() == 2);
  for (int i = 0; i < 4; ++i, now += 1000) r.writer.commit(now);
  r.write_head(0, 1, 5000);
  CHECK(r.engine.run_due(now).written.empty());
  now = kStart + 30'000;
  const HistoryRunReport scheduled = r.engine.run_due(now);
  REQUIRE(scheduled.written.size() == 1);
  CHECK(scheduled.written[0].file.level == 1);
}

TEST_CASE("engine: the snapshot's short index leaves the levels below less room",
          "[engine][early]") {
  // An open reads the snapshot's index too. A first snapshot of a young database has a short
  // one, which early compaction cannot shorten: what it holds, the levels below may not.
  std::atomic<int64_t> now{kStart};
  HistoryPolicy policy = early_policy();
  policy.snapshot_interval_ms = 24 * 3'600'000;
  Replica r(scratch_dir("early-snapshot"), now, policy);
  r.writer.commit(now);
  now += 1000;
  REQUIRE(r.engine.run_due(now).written.size() == 2);  // empty levels are due
  history::RunNowOptions snapshot;  // as `ltxvfs compact --snapshot`: levels, then a snapshot
  snapshot.snapshot = true;
  const HistoryRunReport first = r.engine.run_now(now, snapshot);
  REQUIRE(std::any_of(first.written.begin(), first.written.end(),
                      [](const auto& w) { return w.file.level == storage::kSnapshotLevel; }));
  const uint64_t covered = r.writer.txid();
  // Two level-0 files of 200 index bytes: 400, within the budget of 1,000 by themselves.
  for (int i = 0; i < 2; ++i, now += 1000) r.writer.commit(now);
  r.write_head(0, covered, 200);
  SECTION("a snapshot whose index an open reads whole") {
    r.write_head(storage::kSnapshotLevel, 0, 700);  // 1,100 in all: level 1 takes level 0
    const HistoryRunReport early = r.engine.run_due(now);
    REQUIRE(early.written.size() == 1);
    CHECK(early.written[0].file.level == 1);
    CHECK(early.written[0].file.min_txid == covered + 1);
  }
  SECTION("a snapshot whose index has a directory") {
    r.write_head(storage::kSnapshotLevel, 0, 700, /*with_directory=*/true);
    CHECK(r.engine.run_due(now).written.empty());
  }
  SECTION("a snapshot without a hint") {
    CHECK(r.engine.run_due(now).written.empty());
  }
}
