// A replica over files whose long page indexes the head gives directories for
// (vfs/replica/lazy_index.h, issue 17: an open of at most 256 KiB at any database size): the open
// reads none of those indexes, a page lookup reads the part covering the page, the poller reads
// the rest, and every page is the one the whole indexes say, even when a directory is wrong.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/posix_file.h"
#include "history/head_record.h"
#include "history/index_hints.h"
#include "storage/body_source.h"
#include "tests/replica/engine_support.h"

using namespace ltxvfs::replica;
using ltxvfs::testing::ModelPrimary;
using namespace replicatest;

namespace {

constexpr uint32_t kPages = 3000;

std::vector<uint8_t> bytes_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

// A chain of four files: a snapshot of 3,000 1 KiB pages, a few pages, half the database
// rewritten, a few pages; and a head naming every file's tail, with a directory (a mark every
// 1 KiB of index) for the indexes longer than 4 KiB: the snapshot's and the rewrite's.
struct LazyChain {
  std::string dir;
  ModelPrimary m;
  ltxvfs::history::HeadRecord head;

  // `newest_small`: without the last file, the rewrite (a long index) is the newest.
  explicit LazyChain(const std::string& name, bool newest_small = true)
      : dir(fresh_dir(name)), m(dir, 1024) {
    for (uint32_t p = 1; p <= kPages; ++p) m.set(p, 1);
    m.commit(0, true);
    for (uint32_t p : {1u, 10u, 11u, 12u, 2500u, 2999u}) m.set(p, 2);
    m.commit();
    for (uint32_t p = 1; p <= kPages / 2; ++p) m.set(p, 3);
    m.commit();
    if (newest_small) {
      for (uint32_t p : {1u, 13u, 1400u, 1600u}) m.set(p, 4);
      m.commit();
    }
    head.txid = m.txid();
    head.owner = "test";
    for (uint64_t txid = 1; txid <= m.txid(); ++txid) {
      const std::vector<uint8_t> file = bytes_of_file(dir + "/" + m.key(0, txid, txid));
      const auto hints =
          ltxvfs::history::index_hints_of(ltxvfs::storage::MemoryBody(file), {}, 4096, 1024);
      head.add_tail({0, txid, txid, file.size(), hints.tail_bytes, 0, hints.directory});
    }
    REQUIRE(!head.tails[0].directory.empty());
    REQUIRE(head.tails[1].directory.empty());
    REQUIRE(!head.tails[2].directory.empty());
    if (newest_small) REQUIRE(head.tails[3].directory.empty());
    write_head(head);
  }
  void write_head(const ltxvfs::history::HeadRecord& h) const {
    std::ofstream(dir + "/" + ltxvfs::storage::head_key(ltxvfs::storage::LayoutStyle::kDirectory))
        << h.to_json();
  }
  ReplicaOptions options(uint32_t poll_ms = 60'000) const {
    ReplicaOptions o = options_for(dir);
    o.poll_ms = poll_ms;  // 60 s: no poll during the test, so nothing reads indexes behind it
    o.load_indexes_after_open = false;
    return o;
  }
};

void check_every_page(Replica& r, const ModelPrimary& m) {
  const auto s = r.pin();
  for (uint32_t p = 1; p <= kPages; ++p) {
    INFO("page " << p);
    REQUIRE(read_page(r, *s, p) == expected_page(m, *s, p));
  }
}

}  // namespace

TEST_CASE("replica engine: a long index is read a part at a time, through the head's directory",
          "[replica][unit]") {
  LazyChain c("engine-lazy-index");
  const ReplicaOptions options = c.options();
  Replica r(options, location_for(options), nullptr);
  const auto s = r.pin();
  REQUIRE(s->files().size() == 4);
  CHECK(s->lazy_files() == 2);
  auto index = r.stats().index;
  CHECK(index.lazy == 2);
  CHECK(index.parts_fetched == 0);
  // The open read the two short indexes whole and 24 bytes of each long one.
  CHECK(r.stats().store.bytes_received <
        c.head.to_json().size() + c.head.tails[1].tail_bytes + c.head.tails[3].tail_bytes +
            2 * ltxvfs::ltx::kMinTailSize + 2 * ltxvfs::ltx::kHeaderSize + 4096);

  // Every page is where the whole indexes say: the same chain planned without directories.
  auto eager_head = c.head;
  for (auto& t : eager_head.tails) t.directory.clear();
  c.write_head(eager_head);
  Replica e(options, location_for(options), nullptr);
  const auto es = e.pin();
  REQUIRE(es->lazy_files() == 0);
  // locate_held knows nothing of the long files' pages yet, and answers without a request.
  CHECK_FALSE(s->locate_held(5).has_value());
  for (uint32_t p = 1; p <= kPages; ++p) {
    INFO("page " << p);
    const auto lazy = s->locate(p);
    const auto whole = es->locate(p);
    REQUIRE(lazy.has_value() == whole.has_value());
    REQUIRE(lazy->file->file.key == whole->file->file.key);
    REQUIRE(lazy->offset == whole->offset);
    REQUIRE(lazy->size == whole->size);
  }
  CHECK_FALSE(s->locate(kPages + 1).has_value());
  index = r.stats().index;
  // Each part once: the snapshot's and the rewrite's, ~1 KiB each.
  const size_t marks = c.head.tails[0].directory.size() + c.head.tails[2].directory.size();
  CHECK(index.parts_fetched > 2);
  CHECK(index.parts_fetched <= marks);
  CHECK(index.wholes_fetched == 0);
  CHECK(s->lazy_complete() == false);  // parts, not the whole: load_lazy() reads the rest
  check_every_page(r, c.m);
  CHECK(r.stats().index.parts_fetched == index.parts_fetched);
}

TEST_CASE(
    "replica engine: a directory that does not fit its file costs the whole index, not a "
    "wrong page",
    "[replica][unit]") {
  LazyChain c("engine-lazy-index-wrong");
  auto head = c.head;
  // A mark of the rewrite's directory whose frame offset the frames before it do not reach, and
  // one of the snapshot's naming the wrong page at the right bytes: both still look like
  // directories.
  auto& rewrite = head.tails[2].directory;
  REQUIRE(rewrite.size() > 3);
  rewrite[2].frame_offset += 3;
  // And its first mark too high: pages 1-4 would look absent from it, and page 2 come from the
  // snapshot, an older version, were the first part not read and checked for them.
  REQUIRE(rewrite[0].pgno == 1);
  REQUIRE(rewrite[1].pgno > 5);
  rewrite[0].pgno = 5;
  auto& snapshot = head.tails[0].directory;
  const size_t k = snapshot.size() - 3;  // past the rewrite's pages: the snapshot holds them
  REQUIRE(snapshot[k].pgno > kPages / 2);
  snapshot[k].pgno -= 1;
  // And an earlier one's page too high: the page it names would look absent from the part
  // before it (and so from the file), were the entry after that part not checked.
  const size_t j = k - 3;
  REQUIRE(snapshot[j - 1].pgno > kPages / 2);
  REQUIRE(snapshot[j].pgno + 1 < snapshot[j + 1].pgno);
  snapshot[j].pgno += 1;
  c.write_head(head);
  const auto back = ltxvfs::history::HeadRecord::from_json(head.to_json());
  REQUIRE(back->tails[2].directory == rewrite);
  REQUIRE(back->tails[0].directory == snapshot);
  Replica r(c.options(), location_for(c.options()), nullptr);
  CHECK(r.pin()->lazy_files() == 2);
  check_every_page(r, c.m);
  CHECK(r.stats().index.wholes_fetched == 2);
}

TEST_CASE("replica engine: the poller reads the rest of the long indexes", "[replica][unit]") {
  LazyChain c("engine-lazy-index-poll");
  Replica r(c.options(20), location_for(c.options(20)), nullptr);
  const auto s = r.pin();
  REQUIRE(s->lazy_files() == 2);
  // Then it publishes the same state with those indexes whole: same TXID and change counter
  // (SQLite keeps its cache), looked up in a page map alone.
  for (int i = 0; i < 1000 && r.pin()->lazy_files() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto whole = r.pin();
  REQUIRE(whole->lazy_files() == 0);
  CHECK(s->lazy_complete());
  CHECK(whole->txid() == s->txid());
  CHECK(whole->change_counter() == s->change_counter());
  CHECK(r.stats().index.wholes_fetched == 2);
  for (uint32_t p = 1; p <= kPages; ++p) {
    INFO("page " << p);
    const auto a = s->locate(p);
    const auto b = whole->locate(p);
    REQUIRE(a->file->serial == b->file->serial);
    REQUIRE(a->offset == b->offset);
  }
  check_every_page(r, c.m);
  CHECK(r.stats().index.parts_fetched == 0);
}

TEST_CASE("replica engine: a long index's object gone asks the transaction to retry",
          "[replica][unit]") {
  LazyChain c("engine-lazy-index-gone");
  Replica r(c.options(), location_for(c.options()), nullptr);
  const auto s = r.pin();
  std::filesystem::remove(c.dir + "/" + c.m.key(0, 3, 3));
  // Page 700's newest version is in the rewrite, whose part for it was never read.
  try {
    read_page(r, *s, 700);
    FAIL("read a page of an object that is gone");
  } catch (const ReplicaError& e) {
    CHECK(e.kind() == ReplicaErrorKind::kSnapshotLost);
    CHECK(std::string(e.what()).find(c.m.key(0, 3, 3)) != std::string::npos);
  }
  CHECK(r.stats().lost == 1);
}

TEST_CASE(
    "replica engine: page 1 hinted in a long index's file is proven by its frame, no part read",
    "[replica][unit]") {
  // The newest file holds page 1 and has a long index: the head's page 1 hint brings its frame
  // with the open, and the frame decoding there as page 1 proves where the file holds it.
  LazyChain c("engine-lazy-index-page1", /*newest_small=*/false);
  const std::string newest = c.dir + "/" + c.m.key(0, 3, 3);
  const std::vector<uint8_t> file = bytes_of_file(newest);
  const auto tail =
      std::get<ltxvfs::ltx::FileTail>(ltxvfs::ltx::parse_file_tail(file, file.size()));
  REQUIRE(tail.index.find(1) != nullptr);
  auto head = c.head;
  head.page1 = ltxvfs::history::TailHint{
      0, 3, 3, file.size(), 0, ltxvfs::ltx::kHeaderSize + tail.index.find(1)->size, {}};
  c.write_head(head);
  Replica r(c.options(), location_for(c.options()), nullptr);
  const auto s = r.pin();
  REQUIRE(s->lazy_files() == 2);
  CHECK(r.stats().index.page1_fetched == 1);
  const uint64_t gets = r.stats().store.gets;
  CHECK(read_page(r, *s, 1) == expected_page(c.m, *s, 1));
  CHECK(r.stats().store.gets == gets);
  CHECK(r.stats().index.parts_fetched == 0);
  // A page the hint did not name needs its parts: of both long files at once (the rewrite's
  // could have left it to the snapshot), in one round trip.
  CHECK(read_page(r, *s, 2) == expected_page(c.m, *s, 2));
  CHECK(r.stats().index.parts_fetched == 2);
}

TEST_CASE("replica engine: hydrate=1 over long indexes read part by part makes the database",
          "[replica][unit]") {
  LazyChain c("engine-lazy-index-hydrate");
  ReplicaOptions options = c.options();
  options.hydrate = true;
  options.local_path = c.dir + "-local.db";
  std::filesystem::remove(options.local_path);
  Replica r(options, location_for(options), nullptr);
  REQUIRE(r.pin()->lazy_files() == 2);
  for (int i = 0; i < 5000 && r.stats().hydration.state == "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(r.stats().hydration.state == "done");
  const auto local = ltxvfs::base::read_file(options.local_path);
  REQUIRE(local.size() == uint64_t{kPages} * 1024);
  for (uint32_t p = 2; p <= kPages; ++p) {
    INFO("page " << p);
    const auto page = c.m.page_at(c.m.txid(), p);
    REQUIRE(std::equal(page.begin(), page.end(), local.begin() + (p - 1) * 1024));
  }
  check_every_page(r, c.m);
}

TEST_CASE("replica engine: a long index that does not parse is a corrupt object, named",
          "[replica][unit]") {
  LazyChain c("engine-lazy-index-corrupt");
  // A byte of the snapshot's index, among the pages only it holds (past the rewrite's): the
  // part covering them and the whole index then fail their checks.
  const std::string path = c.dir + "/" + c.m.key(0, 1, 1);
  std::vector<uint8_t> file = bytes_of_file(path);
  const auto& marks = c.head.tails[0].directory;
  const auto area = ltxvfs::ltx::index_area(file.size(), c.head.tails[0].tail_bytes);
  const size_t k = marks.size() - 2;
  REQUIRE(marks[k].pgno > kPages / 2);
  file[area.start + marks[k].index_offset + 1] ^= 0x40;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  Replica r(c.options(), location_for(c.options()), nullptr);
  const auto s = r.pin();
  try {
    read_page(r, *s, marks[k].pgno + 1);
    FAIL("read a page through a corrupt index");
  } catch (const ReplicaError& e) {
    CHECK(e.kind() == ReplicaErrorKind::kCorrupt);
    CHECK(std::string(e.what()).find(c.m.key(0, 1, 1)) != std::string::npos);
  }
  // The pages the other files hold are still served.
  CHECK(read_page(r, *s, 10) == expected_page(c.m, *s, 10));
}
