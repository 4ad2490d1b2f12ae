// LtxBuilder on its own (no SQLite): a synthetic database and WAL written byte by byte the way
// SQLite lays them out, so the builder's decisions can be driven precisely — including a database
// that grows past the lock page at the 1 GiB offset, which a real test database could not afford.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/byte_order.h"
#include "ltx/applier.h"
#include "ltx/checksum.h"
#include "ltx/decoder.h"
#include "ltx/source.h"
#include "tests/vfs/fake_wal_files.h"
#include "tests/vfs/sqlite_support.h"
#include "vfs/writer/ltx_builder.h"
#include "vfs/writer/wal_format.h"

using namespace ltxvfs;
using namespace ltxvfs::writer;
using ltxvfs::testing::FakeFiles;
using ltxvfs::testing::header_page;
using ltxvfs::testing::page_of;
using ltxvfs::testing::pages_in;

namespace {

// Five commits of two frames each (page 2 every time, then a new page), with the notices SQLite's
// wal-index would give: `with_pages` adds each frame's page number, as the shim reads them.
std::vector<CommitNotice> five_commits(FakeFiles& files, uint32_t ps, bool with_pages) {
  files.start_wal(5, 6);
  std::vector<CommitNotice> notices;
  auto before = files.index_header();
  before.max_frame = 0;
  for (uint32_t t = 0; t < 5; ++t) {
    files.append_frame(2, page_of(ps, static_cast<uint8_t>(0x20 + t)), 0);
    files.append_frame(3 + t, page_of(ps, static_cast<uint8_t>(0x30 + t)), 3 + t);
    CommitNotice n;
    n.before = before;
    n.after = files.index_header();
    n.time_ms = 100 + t;
    if (with_pages) n.frame_pages = {2, 3 + t};
    notices.push_back(n);
    before = n.after;
  }
  return notices;
}

// A two-page database (a header page and one page of 2s), its spool, and a builder that has
// taken it as its first snapshot (initial_sync) at time `now_ms`; `problem` is the reason given for
// an unusable recorded state, if any.
struct TwoPageDatabase {
  std::string dir;  // the scratch directory (the spool is dir/spool)
  FakeFiles files;
  Spool spool;
  LtxBuilder builder;

  TwoPageDatabase(uint32_t ps, const std::string& name, int64_t now_ms,
                  const std::string& problem = "")
      : dir(testing::scratch_dir(name)),
        files(ps),
        spool(dir + "/spool", ltxvfs::base::kDefaultFileMode),
        builder(files, spool, ltxvfs::ltx::OutputFormat::kNative, 1) {
    files.set_db(2, {{1, header_page(ps, 1)}, {2, page_of(ps, 2)}});
    builder.initial_sync(std::nullopt, problem, now_ms);
  }
};

}  // namespace

TEST_CASE("builder: one TXID per transaction, last copy of a page, growth and shrink",
          "[builder]") {
  const uint32_t ps = 512;
  const std::string dir = testing::scratch_dir("builder-basic");
  FakeFiles files(ps);
  files.set_db(3, {{1, header_page(ps, 1)}, {2, page_of(ps, 2)}, {3, page_of(ps, 3)}});
  Spool spool(dir + "/spool", ltxvfs::base::kDefaultFileMode);
  LtxBuilder builder(files, spool, ltxvfs::ltx::OutputFormat::kNative, 1);
  builder.initial_sync(std::nullopt, "", 1000);
  REQUIRE(builder.txid() == 1);  // the existing database, as a snapshot
  REQUIRE(spool.entries().size() == 1);

  // Transaction 2: page 2 written twice (the last copy wins), the database grows to 5 pages but
  // only page 5 is written: page 4 must be carried anyway (zeros here).
  files.start_wal(7, 9);
  auto before = files.index_header();
  files.append_frame(2, page_of(ps, 0x20), 0);
  files.append_frame(2, page_of(ps, 0x22), 0);
  files.append_frame(5, page_of(ps, 0x55), 5);
  CommitNotice n;
  n.before = before;
  n.before->max_frame = 0;
  n.after = files.index_header();
  n.wal_restarted = true;
  n.time_ms = 2000;
  builder.build(std::span(&n, 1));
  REQUIRE(builder.txid() == 2);
  ltx::Header h;
  auto pages = pages_in(spool, spool.entries().back(), &h);
  CHECK(h.min_txid == 2);
  CHECK(h.commit == 5);
  CHECK(h.timestamp_ms == 2000);
  REQUIRE(pages.size() == 3);
  CHECK(pages[2] == page_of(ps, 0x22));
  CHECK(pages[4] == page_of(ps, 0));
  CHECK(pages[5] == page_of(ps, 0x55));

  // Transaction 3 shrinks the database to 2 pages (VACUUM): no page above the commit.
  before = files.index_header();
  files.append_frame(1, page_of(ps, 0x11), 0);
  files.append_frame(3, page_of(ps, 0x33), 2);
  n.before = before;
  n.after = files.index_header();
  n.wal_restarted = false;
  builder.build(std::span(&n, 1));
  pages = pages_in(spool, spool.entries().back(), &h);
  CHECK(h.commit == 2);
  CHECK(pages.size() == 1);
  CHECK(pages.count(1) == 1);

  // The chain applies cleanly and its checksums agree with the builder's.
  std::vector<std::vector<uint8_t>> bodies;
  for (const auto& e : spool.entries()) bodies.push_back(spool.read(e));
  std::vector<ltx::MemorySource> sources(bodies.begin(), bodies.end());
  std::vector<ltx::NamedSource> chain;
  for (size_t i = 0; i < sources.size(); ++i) chain.push_back({&sources[i], std::to_string(i)});
  const std::string out = dir + "/restored.db";
  const int fd = ::open(out.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  auto state = ltx::restore_to_fd(chain, fd, out);
  ::close(fd);
  CHECK(state.txid == 3);
  CHECK(state.checksum == builder.state().checksum);
  auto restored = ltxvfs::base::read_file(out);
  REQUIRE(restored.size() == 2 * ps);
  CHECK(std::vector<uint8_t>(restored.begin(), restored.begin() + ps) == page_of(ps, 0x11));
  CHECK(std::vector<uint8_t>(restored.begin() + ps, restored.end()) == page_of(ps, 0x22));
}

TEST_CASE("builder: a transaction that does not start at the position ships the whole database",
          "[builder]") {
  const uint32_t ps = 1024;
  TwoPageDatabase db(ps, "builder-gap", 1000);
  auto& [dir, files, spool, builder] = db;
  const uint64_t recorded = builder.state().checksum;
  files.start_wal(1, 2);
  files.append_frame(2, page_of(ps, 0x22), 2);  // written by "another process": no notice
  auto foreign = files.index_header();
  files.append_frame(1, page_of(ps, 0x11), 2);  // ours
  CommitNotice n;
  n.before = foreign;
  n.after = files.index_header();
  n.time_ms = 5;
  builder.build(std::span(&n, 1));
  REQUIRE(builder.txid() == 2);
  ltx::Header h;
  auto pages = pages_in(spool, spool.entries().back(), &h);
  CHECK(h.min_txid == 2);
  CHECK(h.pre_apply_checksum == recorded);  // a valid step from what the replica has
  CHECK(pages.size() == 2);                 // every page
  CHECK(pages[1] == page_of(ps, 0x11));
  CHECK(pages[2] == page_of(ps, 0x22));
}

TEST_CASE("builder: a database growing past the lock page (1 GiB offset) never stores it",
          "[builder]") {
  const uint32_t ps = 512;
  const uint32_t lock = ltx::lock_page(ps);  // 2097153: the page holding byte 0x40000000
  const std::string dir = testing::scratch_dir("builder-lock-page");
  FakeFiles files(ps);
  // A database ending just below the lock page (sparse: zeros but page 1).
  files.set_db(lock - 2, {{1, header_page(ps, 1)}});
  Spool spool(dir + "/spool", ltxvfs::base::kDefaultFileMode);
  LtxBuilder builder(files, spool, ltxvfs::ltx::OutputFormat::kNative, 1);
  builder.initial_sync(std::nullopt, "", 1);
  REQUIRE(builder.txid() == 1);
  // SQLite never writes the lock page; a transaction grows the database across it.
  files.start_wal(3, 4);
  auto before = files.index_header();
  files.append_frame(lock - 1, page_of(ps, 0xa1), 0);
  files.append_frame(lock + 2, page_of(ps, 0xa2), lock + 2);
  CommitNotice n;
  n.before = before;
  n.after = files.index_header();
  n.wal_restarted = true;
  builder.build(std::span(&n, 1));
  REQUIRE(builder.txid() == 2);
  ltx::Header h;
  auto pages = pages_in(spool, spool.entries().back(), &h);
  CHECK(h.commit == lock + 2);
  CHECK(pages.count(lock) == 0);
  CHECK(pages.count(lock + 1) == 1);  // grown into, never written: carried as zeros
  CHECK(pages[lock - 1] == page_of(ps, 0xa1));
  CHECK(pages[lock + 2] == page_of(ps, 0xa2));
  CHECK(pages.size() == 3);
}

TEST_CASE("builder: commits queued together become one file covering their TXIDs", "[builder]") {
  const uint32_t ps = 512;
  TwoPageDatabase db(ps, "builder-batch", 1);
  auto& [dir, files, spool, builder] = db;
  REQUIRE(builder.txid() == 1);
  builder.build(five_commits(files, ps, false));
  REQUIRE(builder.txid() == 6);
  REQUIRE(spool.entries().size() == 2);
  ltx::Header h;
  auto pages = pages_in(spool, spool.entries().back(), &h);
  CHECK(h.min_txid == 2);
  CHECK(h.max_txid == 6);
  CHECK(h.commit == 7);
  CHECK(h.timestamp_ms == 104);  // the last commit's time
  REQUIRE(pages.size() == 6);    // page 2 once (its newest copy) and pages 3..7
  CHECK(pages[2] == page_of(ps, 0x24));
  for (uint32_t p = 3; p <= 7; ++p)
    CHECK(pages[p] == page_of(ps, static_cast<uint8_t>(0x30 + p - 3)));
  // The position after the batch is recorded with it: a spool reopened knows it.
  Spool reopened(dir + "/spool", ltxvfs::base::kDefaultFileMode);
  REQUIRE(reopened.newest_state().has_value());
  CHECK(*reopened.newest_state() == builder.state());
}

TEST_CASE("builder: a database recreated empty beside an old history starts a new chain",
          "[builder]") {
  const uint32_t ps = 1024;
  const std::string dir = testing::scratch_dir("builder-recreated");
  LocalState old;  // what the deleted database left beside it
  old.page_size = 4096;
  old.txid = 41;
  old.commit = 9;
  old.checksum = 0x8123456789abcdefULL;
  FakeFiles files(ps);  // the new database: empty
  Spool spool(dir + "/spool", ltxvfs::base::kDefaultFileMode);
  LtxBuilder builder(files, spool, ltxvfs::ltx::OutputFormat::kNative, 1);
  builder.initial_sync(old, "", 1);
  CHECK(builder.txid() == 41);
  CHECK(spool.entries().empty());
  // Its first transaction creates the database.
  files.start_wal(1, 1);
  auto before = files.index_header();
  files.append_frame(1, header_page(ps, 1), 0);
  files.append_frame(2, page_of(ps, 2), 2);
  CommitNotice n;
  n.before = before;
  n.after = files.index_header();
  builder.build(std::span(&n, 1));
  REQUIRE(builder.txid() == 42);
  ltx::Header h;
  auto pages = pages_in(spool, spool.entries().back(), &h);
  CHECK(h.is_snapshot());  // min TXID 1: restorable without the old chain
  CHECK(h.max_txid == 42);
  CHECK(pages.size() == 2);
}

TEST_CASE("builder: an unusable recorded state costs a snapshot, never a crash", "[builder]") {
  const uint32_t ps = 512;
  TwoPageDatabase db(ps, "builder-bad-state", 1,
                     "state.json: invalid replication state (page size 0 with 5 pages)");
  auto& [dir, files, spool, builder] = db;
  REQUIRE(builder.txid() == 1);
  ltx::Header h;
  pages_in(spool, spool.entries().back(), &h);
  CHECK(h.is_snapshot());
  // A state file with page_size 0 and pages is refused by validation, not divided by.
  LocalState bad;
  bad.page_size = 0;
  bad.commit = 5;
  bad.txid = 3;
  CHECK_THAT(validate(bad), Catch::Contains("page size 0"));
  const std::string path = dir + "/state.json";
  write_local_state(path, bad, false, ltxvfs::base::kDefaultFileMode);
  CHECK_THROWS_WITH(read_local_state(path), Catch::Contains("invalid replication state"));
  bad.page_size = 3000;
  CHECK_THAT(validate(bad), Catch::Contains("power of two"));
}

TEST_CASE("state.json: a float where an integer belongs is refused rather than converted",
          "[builder]") {
  // Found by tests/fuzz (fuzz_json_records): get<int>() of 1e300 was a float-to-int overflow,
  // undefined behaviour that UBSan reports; 1.5 passed as 1.
  const std::string dir = testing::scratch_dir("state-float");
  const std::string path = dir + "/state.json";
  const std::string wal =
      R"("wal":{"salt1":1,"salt2":2,"big_endian":false,"offset":32,"cksum1":3,"cksum2":4})";
  const auto state_with = [&](const std::string& version, const std::string& ts) {
    return R"({"version":)" + version + R"(,"page_size":512,"txid":1,"checksum":1,"commit":1,)" +
           wal + R"(,"timestamp_ms":)" + ts + "}";
  };
  const auto write = [&](const std::string& text) { std::ofstream(path, std::ios::trunc) << text; };
  write(state_with("1", "1767225600000"));
  REQUIRE(read_local_state(path)->timestamp_ms == 1767225600000);
  for (const auto& [version, ts] : std::vector<std::pair<std::string, std::string>>{
           {"1e300", "0"}, {"1.0", "0"}, {"1", "1e300"}, {"1", "1.5"}, {"1", "-1e300"}}) {
    write(state_with(version, ts));
    CHECK_THROWS_WITH(read_local_state(path), Catch::Contains("unreadable replication state"));
  }
}

TEST_CASE("builder: frame pages from the wal-index build exactly what reading the WAL builds",
          "[builder]") {
  const uint32_t ps = 512;
  std::vector<std::vector<uint8_t>> files_built;
  std::vector<LocalState> states;
  std::vector<uint64_t> bytes_read;
  for (const bool with_pages : {false, true}) {
    TwoPageDatabase db(ps, with_pages ? "builder-pages-index" : "builder-pages-scan", 1);
    auto& [dir, files, spool, builder] = db;
    const auto notices = five_commits(files, ps, with_pages);
    files.wal_bytes_read = 0;
    builder.build(notices);
    REQUIRE(builder.txid() == 6);
    files_built.push_back(spool.read(spool.entries().back()));
    states.push_back(builder.state());
    bytes_read.push_back(files.wal_bytes_read);
    CHECK(builder.wal_scans() == (with_pages ? 0u : 1u));
  }
  CHECK(files_built[0] == files_built[1]);  // byte for byte
  CHECK(states[0] == states[1]);            // the position, the WAL checksum included
  // Reading the WAL back reads all ten frames; the wal-index's account reads the WAL header (a
  // new generation), the commit frame's header and the six newest copies (page 2 once, pages
  // 3..7) with their frame headers, and the WAL header again (still this generation).
  CHECK(bytes_read[0] >= 10 * (ps + kWalFrameHeaderSize));
  CHECK(bytes_read[1] == 2 * kWalHeaderSize + kWalFrameHeaderSize + 6 * (ps + kWalFrameHeaderSize));
}

TEST_CASE("builder: frame pages that the WAL does not confirm never make a file", "[builder]") {
  const uint32_t ps = 512;
  TwoPageDatabase db(ps, "builder-pages-mismatch", 1);
  auto& [dir, files, spool, builder] = db;
  auto notices = five_commits(files, ps, true);

  SECTION("a notice naming the wrong page for a frame") {
    notices[2].frame_pages[1] = 4;
  }
  SECTION("a notice naming a page past the end for the commit frame") {
    notices[4].frame_pages[1] = 9;
  }
  SECTION("a frame rewritten behind SQLite's back after the commit") {
    files.set_frame_page(10, 8);  // the newest copy of page 7
  }
  const size_t spooled = spool.entries().size();
  CHECK_THROWS_WITH(builder.build(notices),
                    Catch::Contains("the WAL changed under the replicator"));
  CHECK(spool.entries().size() == spooled);  // nothing half-trusted reached the spool
  CHECK(builder.txid() == 1);
}

TEST_CASE("builder: notices that do not account for every frame fall back to reading the WAL",
          "[builder]") {
  const uint32_t ps = 512;
  FakeFiles files(ps);
  auto notices = five_commits(files, ps, true);
  WalPosition from;
  from.salts = notices[0].after.salts;
  from.page_size = ps;
  from.big_endian_checksums = true;
  from.offset = kWalHeaderSize;
  REQUIRE(transactions_from_notices(notices, from).size() == 5);
  const auto txns = transactions_from_notices(notices, from);
  CHECK(txns[4].end.offset == notices[4].after.end_offset());
  CHECK(txns[4].end.checksum == notices[4].after.frame_checksum);
  CHECK(txns[4].commit == 7);
  CHECK(txns[4].frames.back().pgno == 7);
  CHECK(txns[4].frames.back().data_offset == wal_frame_offset(10, ps) + kWalFrameHeaderSize);

  auto missing = notices;
  missing[2].frame_pages.clear();  // a notice without pages
  CHECK(transactions_from_notices(missing, from).empty());
  auto short_list = notices;
  short_list[3].frame_pages = {2};  // a frame not accounted for
  CHECK(transactions_from_notices(short_list, from).empty());
  auto gap = notices;
  gap.erase(gap.begin() + 1);  // the second commit missing: the third does not continue the first
  CHECK(transactions_from_notices(gap, from).empty());
  WalPosition elsewhere = from;
  elsewhere.salts.salt1 += 1;  // another WAL generation
  CHECK(transactions_from_notices(notices, elsewhere).empty());
}
