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
