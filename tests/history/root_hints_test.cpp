// The head's schema-root hints (history/head_record.h, roots): where the newest frame of every
// root page 1's schema names lies, so a replica's open reads them beside page 1 (issue 17, W4b).
// Checked against SQLite's own pages: the hinted bytes must decode to the page the database holds.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/time_spec.h"
#include "history/committed_history.h"
#include "history/head_keeper.h"
#include "history/remote_compactor.h"
#include "ltx/checksum.h"
#include "ltx/encoder.h"
#include "ltx/page_frame.h"
#include "ltx/page_index.h"
#include "ltx/sink.h"
#include "storage/body_source.h"
#include "storage/file_store.h"
#include "tests/history/history_support.h"
#include "tests/history/sqlite_replica.h"

namespace {

using ltxvfs::history::FrameAt;
using ltxvfs::history::HeadRecord;
using ltxvfs::history::IndexHints;
using ltxvfs::history::RootHint;
using ltxvfs::history::TailHint;
using namespace historytest;

constexpr LayoutStyle kLayout = LayoutStyle::kDirectory;

IndexHints hints_of(std::optional<std::vector<uint32_t>> schema, std::vector<FrameAt> frames) {
  IndexHints h;
  h.schema_roots = std::move(schema);
  h.frames = std::move(frames);
  return h;
}

// The roots SQLite's schema names, in its order (what ltx::schema_roots reads from page 1).
std::vector<uint32_t> sqlite_roots(sqlite3* db) {
  std::vector<uint32_t> out;
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_schema WHERE rootpage > 1", -1, &stmt,
                             nullptr) == SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out.push_back(static_cast<uint32_t>(sqlite3_column_int64(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return out;
}

// Every root the head names is known and its bytes in the store decode to `image`'s page.
void check_roots(ObjectStore& store, const HeadRecord& head, const std::vector<uint32_t>& roots,
                 const Bytes& image) {
  constexpr uint32_t kPage = 4096;
  REQUIRE(head.root_pgnos() == roots);
  for (const RootHint& r : head.roots) {
    INFO("root " << r.pgno << " in level " << r.level << " " << r.min_txid << "-" << r.max_txid);
    REQUIRE(r.known());
    const std::string key = ltxvfs::storage::ltx_key(kLayout, r.level, r.min_txid, r.max_txid);
    const Bytes object = store.get(key).body;
    CHECK(object.size() == r.size);
    REQUIRE(r.offset + r.frame_size <= object.size());
    const auto page = ltxvfs::ltx::decode_frame(std::span(object).subspan(r.offset, r.frame_size),
                                                r.pgno, kPage, key, {r.min_txid, r.max_txid, 0});
    CHECK(std::equal(page.begin(), page.end(), image.begin() + uint64_t{r.pgno - 1} * kPage));
  }
}

}  // namespace

TEST_CASE("head record: the schema's roots, each at its newest frame, and a bad one is skipped",
          "[head]") {
  HeadRecord r;
  r.txid = 9;
  r.owner = "o";
  const TailHint f1{0, 1, 1, 5000, 60, 900};  // holds page 1, whose schema names 2 and 3
  r.note_page1(f1);
  r.note_roots(f1, hints_of(std::vector<uint32_t>{2, 3}, {{2, 900, 300}}));
  CHECK(r.roots == std::vector<RootHint>{{2, 0, 1, 1, 5000, 900, 300}, {3}});
  CHECK_FALSE(r.roots[1].known());         // not in this file: not known until a file holds it
  const TailHint f2{0, 2, 2, 800, 40, 0};  // page 3 only
  r.note_roots(f2, hints_of(std::nullopt, {{3, 100, 200}, {7, 300, 100}}));
  CHECK(r.roots[1] == RootHint{3, 0, 2, 2, 800, 100, 200});
  CHECK(r.roots.size() == 2);  // 7 is no root
  // A compaction of both: the same TXID at a higher level (a plan prefers it), and newer for 2.
  // Its page 1 is not the head's newest (f1's is, by level and TXID), so its schema is not read.
  const TailHint l1{1, 1, 2, 6000, 90, 0};
  r.note_roots(l1, hints_of(std::vector<uint32_t>{2}, {{2, 1000, 310}, {3, 1310, 190}}));
  CHECK(r.roots ==
        std::vector<RootHint>{{2, 1, 1, 2, 6000, 1000, 310}, {3, 1, 1, 2, 6000, 1310, 190}});
  r.note_roots(f2, hints_of(std::nullopt, {{3, 100, 200}}));  // not back to the level below
  CHECK(r.roots[1].level == 1);
  // A newer page 1 renames the roots; a root still named keeps where it is.
  const TailHint f3{0, 3, 3, 700, 40, 500};
  r.note_page1(f3);
  r.note_roots(f3, hints_of(std::vector<uint32_t>{3, 5, 3, 1}, {{5, 500, 150}}));
  CHECK(r.roots ==
        std::vector<RootHint>{{3, 1, 1, 2, 6000, 1310, 190}, {5, 0, 3, 3, 700, 500, 150}});

  const auto back = HeadRecord::from_json(r.to_json());
  REQUIRE(back);
  CHECK(back->roots == r.roots);
  CHECK(r.to_json().find(R"("roots":[[3,1,1,2,6000,1310,190],[5,0,3,3,700,500,150]])") !=
        std::string::npos);
  // A root hint that cannot be right is dropped, the others kept; the head is still a head.
  const std::string good = "[4,0,1,1,500,100,50]";
  for (const char* bad : {"[1,0,1,1,500,100,50]", "[4,0,1,1,500,90,50]", "[4,0,1,1,500,100,401]",
                          "[4,10,1,1,500,100,50]", "[4,0,1,1,500,100]", R"("x")",
                          "[4,0,1,1,500,-100,50]", "[4294967296,0,1,1,500,100,50]"}) {
    INFO(bad);
    const auto odd = HeadRecord::from_json(
        std::string(R"({"txid":1,"generation":1,"owner":"o","points":[],"roots":[)") + bad + "," +
        good + "]}");
    REQUIRE(odd);
    CHECK(odd->roots == std::vector<RootHint>{{4, 0, 1, 1, 500, 100, 50}});
  }
  // Unknown ones are kept (they hold the set until a file names their frame), and at most
  // kMaxRoots, each once.
  std::string many = R"({"txid":1,"generation":1,"owner":"o","points":[],"roots":[[2,0,0,0,0,0,0])";
  for (int i = 2; i < 40; ++i) many += ",[" + std::to_string(i) + ",0,1,1,500,100,50]";
  const auto capped = HeadRecord::from_json(many + "]}");
  REQUIRE(capped);
  CHECK(capped->roots.size() == HeadRecord::kMaxRoots);
  CHECK_FALSE(capped->roots[0].known());
  CHECK(capped->roots[1].pgno == 3);
}

TEST_CASE("head hints: every root's newest frame, wherever it last changed, is SQLite's page",
          "[head]") {
  const std::string dir = scratch_dir("root-hints");
  ltxvfs::storage::FileStore store(dir + "/replica");
  SqliteReplica db(dir, store, kLayout, OutputFormat::kNative);
  ltxvfs::history::HeadKeeper keeper(store, kLayout, [] {
    return ltxvfs::history::HeadIdentity{"w:1:1", 1};
  });
  keeper.take([](const ltxvfs::history::History&) { return uint64_t{0}; });
  // Each statement is one level-0 file; the keeper commits it with its hints, as the uploader
  // does.
  const auto run = [&](const std::string& sql) {
    const uint64_t txid = db.exec(sql);
    const std::string key = ltxvfs::storage::ltx_key(kLayout, 0, txid, txid);
    const Bytes object = store.get(key).body;
    const ltxvfs::storage::MemoryBody body(object);
    keeper.advance({0, txid, txid, key, object.size(), 0},
                   ltxvfs::history::index_hints_of(body, keeper.root_pgnos()));
    const auto head = ltxvfs::history::read_history(store, kLayout).head;
    REQUIRE(head);
    INFO("after TXID " << txid << ": " << sql);
    check_roots(store, *head, sqlite_roots(db.db()), db.image(txid));
    return *head;
  };
  run("CREATE TABLE a(k INTEGER PRIMARY KEY, v TEXT)");
  run("CREATE TABLE b(k INTEGER PRIMARY KEY, v TEXT); INSERT INTO b VALUES (1, 'x')");
  run("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
      "INSERT INTO a(v) SELECT hex(randomblob(100)) FROM n");
  // Only b's root changes: its newest frame is in a file without page 1.
  auto head = run("UPDATE b SET v = 'y' WHERE k = 1");
  REQUIRE(head.page1);
  CHECK(head.page1->max_txid < 4);
  CHECK(head.roots[1].max_txid == 4);
  run("CREATE INDEX a_v ON a(v)");  // a new root, with page 1

  // A level-1 compaction of all five, noted by the history thread: roots that did not change
  // since point at it, the one changed after it at its level-0 file.
  ltxvfs::history::CompactionWork work;
  work.hinted_pages = [&] { return keeper.root_pgnos(); };
  work.written = [&](const ltxvfs::history::WrittenFile& w) { keeper.note_tail(w.file, w.hints); };
  auto level0 = ltxvfs::history::read_history(store, kLayout).files;
  REQUIRE(level0.size() == 5);
  ltxvfs::history::RemoteCompactor(store, kLayout, OutputFormat::kNative, work)
      .write(1, level0, ltxvfs::base::now_ms());
  head = run("UPDATE b SET v = 'z' WHERE k = 1");
  REQUIRE(head.roots.size() == 3);
  CHECK((head.roots[0].level == 1 && head.roots[0].max_txid == 5));
  CHECK((head.roots[1].level == 0 && head.roots[1].max_txid == 6));
  CHECK((head.roots[2].level == 1 && head.roots[2].max_txid == 5));
}

TEST_CASE("index hints: a page found past the first 64 KiB of a long index, page 1 without one",
          "[head]") {
  // A snapshot of 20,000 pages: its index (~7.5 bytes a page) is read in 64 KiB pieces, and an
  // entry may straddle two of them. Synthetic pages: page 1 is no schema leaf.
  constexpr uint32_t kPages = 20'000;
  ltxvfs::ltx::Header h;
  h.page_size = 512;
  h.commit = kPages;
  h.min_txid = h.max_txid = 1;
  h.timestamp_ms = 1;
  ltxvfs::ltx::VectorSink sink;
  ltxvfs::ltx::Encoder enc(sink, h);
  std::vector<uint8_t> page(512);
  ltxvfs::ltx::DatabaseChecksum sum;
  for (uint32_t p = 1; p <= kPages; ++p) {
    for (size_t i = 0; i < page.size(); i += 4) page[i] = static_cast<uint8_t>(p * 31 + i);
    enc.add_page(p, page);
    sum.toggle(p, page);
  }
  enc.finish(sum.value());
  const Bytes& file = sink.bytes();
  const auto tail =
      std::get<ltxvfs::ltx::FileTail>(ltxvfs::ltx::parse_file_tail(file, file.size()));
  REQUIRE(file.size() - tail.pages_end > 2 * 64 * 1024);  // three pieces
  const std::vector<uint32_t> wanted{19'999, 2, 12'345, 40'000};
  const auto hints = ltxvfs::history::index_hints_of(ltxvfs::storage::MemoryBody(file), wanted);
  CHECK(hints.tail_bytes == file.size() - tail.pages_end);
  CHECK(hints.page1_end == ltxvfs::ltx::kHeaderSize + tail.index.find(1)->size);
  CHECK(hints.schema_roots == std::vector<uint32_t>{});  // decoded: no schema on it
  std::vector<FrameAt> expected;
  for (uint32_t pgno : {2u, 12'345u, 19'999u}) {
    const auto* e = tail.index.find(pgno);
    expected.push_back({pgno, e->offset, e->size});
  }
  CHECK(hints.frames == expected);
  // An index this long gets its directory, one mark every 64 KiB of it (issue 17: a replica reads
  // the part a page needs); a shorter one none.
  REQUIRE(hints.tail_bytes > ltxvfs::history::kIndexDirectoryFrom);
  CHECK(hints.directory == ltxvfs::ltx::index_directory(tail.index, 64 * 1024));
  CHECK(hints.directory.size() == 3);
  // However finely asked for, at most kMaxIndexMarks marks: the head is rewritten per upload.
  const auto fine = ltxvfs::history::index_hints_of(ltxvfs::storage::MemoryBody(file), wanted,
                                                    ltxvfs::history::kIndexDirectoryFrom, 1);
  CHECK(fine.directory.size() <= ltxvfs::history::kMaxIndexMarks);
  CHECK(fine.directory.size() > ltxvfs::history::kMaxIndexMarks / 2);
  CHECK(ltxvfs::history::index_hints_of(ltxvfs::storage::MemoryBody(file), wanted, hints.tail_bytes)
            .directory.empty());
}
