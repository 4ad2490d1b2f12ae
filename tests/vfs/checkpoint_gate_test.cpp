// CheckpointGate (vfs/writer/checkpoint_gate.h) and LtxBuilder under it. SQLite's checkpoints
// no longer wait for commits to be built, so a read of the database file must neither overlap a
// checkpoint nor read a file that a checkpoint moved past the position being built: either would
// ship a state that never existed under a TXID.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "tests/vfs/fake_wal_files.h"
#include "tests/vfs/sqlite_support.h"
#include "vfs/writer/checkpoint_gate.h"
#include "vfs/writer/ltx_builder.h"

using namespace ltxvfs;
using namespace ltxvfs::writer;
using ltxvfs::testing::FakeFiles;
using ltxvfs::testing::header_page;
using ltxvfs::testing::page_of;
using ltxvfs::testing::pages_in;

namespace {

// A commit notice for what `files` committed since `before`, with the frames' page numbers.
CommitNotice notice(const FakeFiles& files, const WalIndexHeader& before,
                    std::initializer_list<uint32_t> pages, int64_t time_ms) {
  CommitNotice n;
  n.before = before;
  n.after = files.index_header();
  n.frame_pages = pages;
  n.time_ms = time_ms;
  return n;
}

// What a checkpoint of everything committed does: the database file takes `content`, and the
// gate learns how far the copy went.
void checkpoint(CheckpointGate& gate, FakeFiles& files, uint32_t pages,
                std::map<uint32_t, std::vector<uint8_t>> content) {
  gate.begin_checkpoint();
  files.set_db(pages, std::move(content));
  const WalIndexHeader copied = files.index_header();
  gate.end_checkpoint({copied.salts, copied.end_offset()});
}

// A two-page database, taken as TXID 1 by a builder under a gate.
struct GatedBuilder {
  const uint32_t ps;
  const std::string dir;
  FakeFiles files;
  Spool spool;
  CheckpointGate gate;
  LtxBuilder builder;

  GatedBuilder(uint32_t page_size, const std::string& name)
      : ps(page_size),
        dir(testing::scratch_dir(name)),
        files(page_size),
        spool(dir + "/spool", base::kDefaultFileMode),
        builder(files, spool, ltx::OutputFormat::kNative, 1, nullptr, &gate) {
    files.set_db(2, {{1, header_page(ps, 1)}, {2, page_of(ps, 2)}});
    builder.initial_sync(std::nullopt, "", 1);
  }
};

}  // namespace

TEST_CASE("checkpoint gate: a checkpoint and a read of the database file never overlap",
          "[builder]") {
  using namespace std::chrono_literals;
  CheckpointGate gate;
  CheckpointGate::Hold read = gate.hold();
  std::atomic<bool> began{false};
  std::thread checkpointer([&] {
    gate.begin_checkpoint();
    began = true;
  });
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(began);  // held by the read
  read = CheckpointGate::Hold();
  checkpointer.join();
  CHECK(began);
  CHECK(gate.checkpointing());

  std::atomic<bool> reading{false};
  std::thread reader([&] {
    const auto hold = gate.hold();
    reading = true;
  });
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(reading);  // held by the checkpoint
  gate.end_checkpoint({WalSalts{1, 2}, 4096});
  reader.join();
  CHECK(reading);
  CHECK_FALSE(gate.checkpointing());
}

TEST_CASE("checkpoint gate: how far checkpoints copied, per WAL generation", "[builder]") {
  CheckpointGate gate;
  const WalSalts first{1, 2}, second{2, 3};
  CHECK_FALSE(gate.ahead_of(first, 32));  // nothing copied yet
  gate.begin_checkpoint();
  gate.end_checkpoint({first, 1000});
  CHECK(gate.ahead_of(first, 999));
  CHECK_FALSE(gate.ahead_of(first, 1000));
  CHECK_FALSE(gate.ahead_of(second, 0));  // another generation's frames
  gate.begin_checkpoint();
  gate.end_checkpoint({first, 500});  // a later checkpoint that copied less shrinks nothing
  CHECK(gate.ahead_of(first, 999));
  gate.end_checkpoint({});  // before a WAL restart: every frame
  CHECK(gate.ahead_of(first, 5000));
  CHECK(gate.ahead_of(second, 32));
  gate.all_built();
  CHECK_FALSE(gate.ahead_of(first, 32));
  gate.begin_checkpoint();
  gate.end_checkpoint({second, 100});
  CHECK(gate.ahead_of(second, 50));
  CHECK_FALSE(gate.ahead_of(first, 50));
}

// The snapshot is read from the database file plus the frames built so far. Built at the builder's
// position after a checkpoint copied a later commit, page 1 would be that commit's under an
// earlier TXID (and the commit would then ship again as the next TXID).
TEST_CASE("builder: a snapshot after a checkpoint copied unbuilt commits is of the WAL's end",
          "[builder]") {
  GatedBuilder db(512, "builder-gate-snapshot");
  auto& [ps, dir, files, spool, gate, builder] = db;
  REQUIRE(builder.txid() == 1);

  files.start_wal(7, 9);
  WalIndexHeader start = files.index_header();
  start.max_frame = 0;
  files.append_frame(2, page_of(ps, 0x22), 2);
  const CommitNotice a = notice(files, start, {2}, 2);
  files.append_frame(1, header_page(ps, 0x11), 2);
  const CommitNotice b = notice(files, a.after, {1}, 3);
  builder.build(std::span(&a, 1));
  REQUIRE(builder.txid() == 2);
  checkpoint(gate, files, 2, {{1, header_page(ps, 0x11)}, {2, page_of(ps, 0x22)}});

  builder.write_snapshot(4, "the store lacks the history");
  ltx::Header h;
  auto pages = pages_in(spool, spool.entries().back(), &h);
  CHECK(h.min_txid == 1);
  CHECK(h.max_txid == 3);
  CHECK(static_cast<uint64_t>(h.wal_size) == b.after.end_offset() - kWalHeaderSize);
  CHECK(pages[1] == header_page(ps, 0x11));
  CHECK(pages[2] == page_of(ps, 0x22));
  const size_t files_before = spool.entries().size();
  builder.build(std::span(&b, 1));  // in the snapshot already
  CHECK(builder.txid() == 3);
  CHECK(spool.entries().size() == files_before);
}

// A page the database grew by without a frame of its own is read from the database file. After a
// checkpoint copied a later commit that wrote it, the file has that commit's content: the builder
// refuses the batch, and its start-over (the build stage resets it) ships the state at the WAL's
// end instead.
TEST_CASE("builder: a grown page is never read from a database file a checkpoint moved ahead",
          "[builder]") {
  GatedBuilder db(512, "builder-gate-grown");
  auto& [ps, dir, files, spool, gate, builder] = db;

  files.start_wal(3, 4);
  WalIndexHeader start = files.index_header();
  start.max_frame = 0;
  files.append_frame(4, page_of(ps, 0x44), 4);  // grows to 4 pages; page 3 has no frame
  const CommitNotice a = notice(files, start, {4}, 2);
  files.append_frame(3, page_of(ps, 0x33), 4);
  checkpoint(gate, files, 4,
             {{1, header_page(ps, 1)},
              {2, page_of(ps, 2)},
              {3, page_of(ps, 0x33)},
              {4, page_of(ps, 0x44)}});
  const size_t files_before = spool.entries().size();
  CHECK_THROWS_WITH(builder.build(std::span(&a, 1)),
                    Catch::Contains("page 3") && Catch::Contains("checkpoint"));
  CHECK(spool.entries().size() == files_before);  // nothing half-built is kept

  builder.reset();
  builder.initial_sync(spool.newest_state(), "", 5);
  CHECK(builder.state().wal.offset == files.index_header().end_offset());
  ltx::Header h;
  auto pages = pages_in(spool, spool.entries().back(), &h);
  CHECK(h.max_txid == builder.txid());
  CHECK(h.commit == 4);
  CHECK(pages[3] == page_of(ps, 0x33));
  CHECK(pages[4] == page_of(ps, 0x44));
}

namespace {

// Two commits in WAL generation (5, 6), built: TXIDs 2-3 in one file; page 2's newest copy is
// frame 3 and page 3's frame 2 in the builder's frame map.
void two_commits_built(GatedBuilder& g) {
  g.files.start_wal(5, 6);
  WalIndexHeader before = g.files.index_header();
  before.max_frame = 0;
  g.files.append_frame(2, page_of(g.ps, 0x21), 0);
  g.files.append_frame(3, page_of(g.ps, 0x31), 3);
  const CommitNotice first = notice(g.files, before, {2, 3}, 10);
  g.files.append_frame(2, page_of(g.ps, 0x22), 3);
  const std::vector<CommitNotice> notices{first, notice(g.files, first.after, {2}, 11)};
  g.builder.build(notices);
  REQUIRE(g.builder.txid() == 3);
}

// What SQLite writes after a restart: generation (7, 8), one commit of pages 3, 2 and 4 (the
// frames where pages 2 and 3 were, and one more), and its notice (not given to the builder).
CommitNotice restart_and_commit(FakeFiles& files, uint32_t ps) {
  files.start_wal(7, 8);
  WalIndexHeader restarted = files.index_header();
  restarted.max_frame = 0;
  files.append_frame(3, page_of(ps, 0x93), 0);
  files.append_frame(2, page_of(ps, 0x92), 0);
  files.append_frame(4, page_of(ps, 0x94), 4);
  return notice(files, restarted, {3, 2, 4}, 20);
}

}  // namespace

TEST_CASE(
    "builder: a snapshot asked for after a WAL restart is of the WAL's end, not of frames "
    "overwritten",
    "[builder]") {
  GatedBuilder g(1024, "snapshot-after-restart");
  two_commits_built(g);
  // Everything is checkpointed, and SQLite restarts the WAL before the builder hears of it: the
  // frame map's offsets now hold other pages (the snapshot read page 2 as page 4's content).
  checkpoint(g.gate, g.files, 3,
             {{1, header_page(g.ps, 1)}, {2, page_of(g.ps, 0x22)}, {3, page_of(g.ps, 0x31)}});
  const CommitNotice next = restart_and_commit(g.files, g.ps);
  g.builder.write_snapshot(30, "the store lacks the history before the spool");
  ltx::Header h;
  auto pages = pages_in(g.spool, g.spool.entries().back(), &h);
  CHECK(h.min_txid == 1);
  CHECK(h.max_txid == 4);
  CHECK(pages.size() == 4);
  CHECK(pages[2] == page_of(g.ps, 0x92));
  CHECK(pages[3] == page_of(g.ps, 0x93));
  CHECK(pages[4] == page_of(g.ps, 0x94));
  // The commit it holds is not built again.
  g.builder.build(std::span(&next, 1));
  CHECK(g.builder.txid() == 4);
}

TEST_CASE("builder: a WAL restarted while a full file reads its frames spools nothing",
          "[builder]") {
  GatedBuilder g(1024, "restart-during-snapshot");
  two_commits_built(g);
  const size_t spooled = g.spool.entries().size();
  // The restart comes between the snapshot's first look at the WAL and its reads of the frames.
  g.files.before_wal_read = [&](uint64_t offset) {
    if (offset == 0) return;
    g.files.before_wal_read = nullptr;
    restart_and_commit(g.files, g.ps);
  };
  CHECK_THROWS_WITH(g.builder.write_snapshot(30, "the store lacks the history before the spool"),
                    Catch::Contains("the WAL was restarted while its frames were read"));
  CHECK(g.spool.entries().size() == spooled);
  CHECK(g.builder.txid() == 3);
}

TEST_CASE("builder: a snapshot at the start of a new WAL generation sees what a checkpoint copied",
          "[builder]") {
  GatedBuilder g(1024, "snapshot-new-generation");
  two_commits_built(g);
  // A TRUNCATE checkpoint: everything copied, the WAL emptied, the builder told of the restart.
  checkpoint(g.gate, g.files, 3,
             {{1, header_page(g.ps, 1)}, {2, page_of(g.ps, 0x22)}, {3, page_of(g.ps, 0x31)}});
  CommitNotice restart;
  restart.before = g.files.index_header();
  g.files.start_wal(7, 8);
  restart.after = g.files.index_header();
  restart.after.max_frame = 0;
  REQUIRE(restart.restart_only());
  g.builder.build(std::span(&restart, 1));
  // Two commits in the new generation, both checkpointed before the builder hears of them: the
  // database file is their state, not the state at TXID 3 (a snapshot of it as TXID 4, then the
  // two commits on top as 5 and 6, made TXID 5 a state that never existed).
  WalIndexHeader before = restart.after;
  g.files.append_frame(2, page_of(g.ps, 0x71), 0);
  g.files.append_frame(3, page_of(g.ps, 0x81), 3);
  const CommitNotice first = notice(g.files, before, {2, 3}, 40);
  g.files.append_frame(2, page_of(g.ps, 0x72), 3);
  const std::vector<CommitNotice> commits{first, notice(g.files, first.after, {2}, 41)};
  checkpoint(g.gate, g.files, 3,
             {{1, header_page(g.ps, 1)}, {2, page_of(g.ps, 0x72)}, {3, page_of(g.ps, 0x81)}});
  g.builder.write_snapshot(50, "the store lacks the history before the spool");
  g.builder.build(commits);
  CHECK(g.builder.txid() == 4);  // the snapshot holds both commits
  ltx::Header h;
  auto pages = pages_in(g.spool, g.spool.entries().back(), &h);
  CHECK(h.max_txid == 4);
  CHECK(pages[2] == page_of(g.ps, 0x72));
  CHECK(pages[3] == page_of(g.ps, 0x81));
}
