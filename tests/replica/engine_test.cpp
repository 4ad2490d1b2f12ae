// The replica engine without SQLite: options, time parsing, coalescing, the page cache, b-tree
// parsing, the read tracker, snapshots, and a Replica over a model primary's directory.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>

#include "base/time_spec.h"
#include "history/head_keeper.h"
#include "history/head_record.h"
#include "ltx/compactor.h"
#include "ltx/page_index.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "tests/replica/engine_support.h"
#include "tests/replica/model_replica.h"
#include "tests/storage/forwarding_store.h"
#include "vfs/replica/btree_page.h"
#include "vfs/replica/coalesce.h"
#include "vfs/replica/errors.h"
#include "vfs/replica/index_cache.h"
#include "vfs/replica/options.h"
#include "vfs/replica/page_cache.h"
#include "vfs/replica/poller.h"
#include "vfs/replica/read_tracker.h"
#include "vfs/replica/replica.h"
#include "vfs/replica/snapshot.h"

using namespace ltxvfs::replica;
using ltxvfs::base::format_rfc3339_ms;
using ltxvfs::base::parse_time_target;
using ltxvfs::testing::ModelPrimary;
namespace fs = std::filesystem;
using namespace replicatest;

namespace {

// As the shim does: the store opened with the replica's settings, handed to the engine.
Replica open_replica(const ReplicaOptions& options) {
  return Replica(
      options,
      ltxvfs::storage::open_store(options.store_url(), ltxvfs::replica::replica_store_settings()),
      nullptr);
}

}  // namespace

TEST_CASE("time targets: latest, RFC 3339, SQLite datetime, relative", "[replica][unit]") {
  const int64_t now = 1'800'000'000'000;
  CHECK(ltxvfs::base::parse_time_target("latest", now)->latest);
  CHECK(ltxvfs::base::parse_time_target(" LATEST ", now)->latest);
  CHECK(ltxvfs::base::parse_time_target("2026-11-20T10:00:00Z", now)->ms == 1795168800000);
  CHECK(ltxvfs::base::parse_time_target("2026-11-20T12:00:00+02:00", now)->ms == 1795168800000);
  CHECK(ltxvfs::base::parse_time_target("2026-11-20 10:00:00.250", now)->ms == 1795168800250);
  CHECK(ltxvfs::base::parse_time_target("5 minutes ago", now)->ms == now - 300000);
  CHECK(ltxvfs::base::parse_time_target("1 hour ago", now)->ms == now - 3600000);
  CHECK(ltxvfs::base::parse_time_target("2 days ago", now)->ms == now - 2 * 86400000LL);
  CHECK_FALSE(ltxvfs::base::parse_time_target("yesterday", now));
  CHECK_FALSE(ltxvfs::base::parse_time_target("5 fortnights ago", now));
  CHECK_FALSE(ltxvfs::base::parse_time_target("2026-13-01T00:00:00Z", now));
  CHECK(ltxvfs::base::format_rfc3339_ms(1795168800250) == "2026-11-20T10:00:00.250Z");
  CHECK(ltxvfs::base::format_rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("replica URI parameters: defaults, validation, messages", "[replica][unit]") {
  auto o =
      parse_replica_options("/x/cache.db", {{"vfs", "ltx"}, {"mode", "ro"}, {"replica", "/r"}});
  CHECK(o.url == "/r");
  CHECK(o.poll_ms == 1000);
  CHECK(o.cache_bytes == 64u << 20);
  CHECK(o.prefetch_pages == 8192);  // half of the default 64 MiB cache in 4 KiB pages
  CHECK_FALSE(o.txid);
  CHECK_FALSE(o.hydrate);
  o = parse_replica_options("/x", {{"replica", "s3://b/p"},
                                   {"endpoint", "http://127.0.0.1:9"},
                                   {"poll_ms", "50"},
                                   {"cache_mb", "2"},
                                   {"txid", "7"},
                                   {"hydrate", "yes"},
                                   {"prefetch", "0"}});
  CHECK(o.store_url() == "s3://b/p?endpoint=http://127.0.0.1:9");
  CHECK(o.poll_ms == 50);
  CHECK(o.cache_bytes == 2u << 20);
  CHECK(*o.txid == 7);
  CHECK(o.hydrate);
  CHECK(o.prefetch_pages == 0);

  using P = std::vector<std::pair<std::string, std::string>>;
  auto err = [](const P& p) { return error_of([&] { parse_replica_options("/x", p); }); };
  CHECK_THAT(err({{"replica", "/r"}, {"bogus", "1"}}),
             Catch::Contains("unknown URI parameter 'bogus'") && Catch::Contains("poll_ms"));
  CHECK_THAT(err({{"replica", "/r"}, {"durability", "remote"}}),
             Catch::Contains("configures a primary"));
  CHECK_THAT(err({{"replica", "/r"}, {"poll_ms", "fast"}}), Catch::Contains("'poll_ms' = 'fast'"));
  CHECK_THAT(err({{"replica", "/r"}, {"poll_ms", "0"}}), Catch::Contains("from 10"));
  CHECK_THAT(err({{"replica", "/r"}, {"txid", "3"}, {"time", "latest"}}),
             Catch::Contains("pick one"));
  CHECK_THAT(err({{"replica", "/r"}, {"time", "soon"}}), Catch::Contains("RFC 3339"));
  CHECK_THAT(err({{"replica", ""}}), Catch::Contains("'replica' is empty"));
  CHECK_THAT(err({{"replica", "/r"}, {"hydrate", "maybe"}}), Catch::Contains("expected 1 or 0"));
}

TEST_CASE("coalescing: adjacent frames of one object become one request", "[replica][unit]") {
  auto a = std::make_shared<FileIndex>();
  a->serial = 1;
  auto b = std::make_shared<FileIndex>();
  b->serial = 2;
  auto fr = [](std::shared_ptr<FileIndex> f, uint32_t pgno, uint64_t off, uint32_t size) {
    return FrameRef{f, pgno, off, size, 4096};
  };
  auto ranges = coalesce({fr(a, 3, 300, 100), fr(a, 1, 100, 100), fr(a, 2, 200, 100),
                          fr(b, 9, 100, 50), fr(a, 5, 500, 100), fr(a, 2, 200, 100)},
                         0, 1 << 20);
  REQUIRE(ranges.size() == 3);
  CHECK(ranges[0].begin == 100);
  CHECK(ranges[0].end == 400);
  CHECK(ranges[0].frames.size() == 3);  // the duplicate of page 2 is dropped
  CHECK(ranges[1].begin == 500);
  CHECK(ranges[2].file->serial == 2);
  // A gap allowance merges across a hole; a byte cap splits.
  CHECK(coalesce({fr(a, 1, 100, 100), fr(a, 3, 300, 100)}, 100, 1 << 20).size() == 1);
  CHECK(coalesce({fr(a, 1, 100, 100), fr(a, 2, 200, 100)}, 0, 150).size() == 2);
  // The fetcher's default hole (256 KiB) joins table leaves around a few index frames, not
  // frames a megabyte apart.
  const FetcherSettings defaults;
  CHECK(coalesce({fr(a, 1, 0, 4000), fr(a, 9, 40'000, 4000)}, defaults.max_gap,
                 defaults.max_request_bytes)
            .size() == 1);
  CHECK(coalesce({fr(a, 1, 0, 4000), fr(a, 9, 1'000'000, 4000)}, defaults.max_gap,
                 defaults.max_request_bytes)
            .size() == 2);
}

TEST_CASE("page cache: LRU by bytes, keyed by object version and page", "[replica][unit]") {
  PageCache cache(3 * 100);
  // Leaf pages (type 0x0d), told apart by their second byte.
  auto page = [](uint8_t v) {
    auto p = std::make_shared<std::vector<uint8_t>>(100, v);
    (*p)[0] = 0x0d;
    return std::shared_ptr<const std::vector<uint8_t>>(p);
  };
  cache.put({1, 1}, page(1));
  cache.put({1, 2}, page(2));
  cache.put({2, 1}, page(3));
  CHECK((*cache.get({1, 1}))[1] == 1);  // now most recent
  cache.put({2, 2}, page(4));           // evicts {1,2}
  CHECK_FALSE(cache.get({1, 2}));
  CHECK(cache.get({2, 1}));
  const auto s = cache.stats();
  CHECK(s.evictions == 1);
  CHECK(s.bytes == 300);
  CHECK(s.hits == 2);
  CHECK(s.misses == 1);
}

TEST_CASE("page cache: interior pages outlast a scan's leaves, up to an eighth of it",
          "[replica][unit]") {
  // A cold scan prefetches each interior page well before it reads it, and read ~16k leaves in
  // between: in one LRU its last interior pages were gone again when it reached them.
  PageCache cache(16 * 100);
  auto page = [](uint8_t type, uint32_t pgno) {
    auto p = std::make_shared<std::vector<uint8_t>>(100, 0);
    (*p)[0] = type;
    (*p)[1] = static_cast<uint8_t>(pgno);
    return std::shared_ptr<const std::vector<uint8_t>>(p);
  };
  cache.put({1, 500}, page(0x05, 500));                                 // a table's interior page
  cache.put({1, 501}, page(0x02, 501));                                 // an index's
  for (uint32_t p = 2; p < 100; ++p) cache.put({1, p}, page(0x0d, p));  // a scan's leaves
  CHECK(cache.get({1, 500}));
  CHECK(cache.get({1, 501}));
  CHECK_FALSE(cache.get({1, 2}));  // the oldest leaves went
  CHECK(cache.get({1, 99}));
  // Page 1 is an interior page when its b-tree header (after the database header) says so.
  std::vector<uint8_t> first(200, 0);
  first[100] = 0x05;
  cache.put({1, 1}, std::make_shared<const std::vector<uint8_t>>(first));
  CHECK_FALSE(cache.contains({1, 500}));  // 200 + 200 bytes of interior pages: over 1600 / 8
  CHECK(cache.contains({1, 1}));
  // More interior pages than an eighth of the cache (2 of 16): the least recently used go.
  for (uint32_t p = 600; p < 604; ++p) cache.put({1, p}, page(0x05, p));
  CHECK(cache.stats().bytes <= 16 * 100);
  CHECK_FALSE(cache.get({1, 500}));
  CHECK(cache.get({1, 603}));
  CHECK(cache.get({1, 98}));  // leaves are kept while interior pages are over their share
  // Nothing but interior pages: they fill the cache as leaves would.
  PageCache interior_only(4 * 100);
  for (uint32_t p = 1000; p < 1010; ++p) interior_only.put({1, p}, page(0x05, p));
  CHECK(interior_only.stats().pages == 4);
  CHECK(interior_only.get({1, 1009}));
  // A page larger than the whole cache still stays, alone.
  PageCache tiny(50);
  tiny.put({1, 7}, page(0x05, 7));
  CHECK(tiny.get({1, 7}));
  tiny.put({1, 8}, page(0x0d, 8));
  CHECK(tiny.get({1, 8}));
  CHECK_FALSE(tiny.get({1, 7}));
}

TEST_CASE("page 1 presentation and interior b-tree pages", "[replica][unit]") {
  std::vector<uint8_t> page(1024, 0);
  page[18] = 2;
  page[19] = 2;
  present_header(page, 0, 0x01020304, 77);
  CHECK(page[18] == 1);
  CHECK(page[19] == 1);
  CHECK(page[24] == 1);
  CHECK(page[27] == 4);
  CHECK(page[31] == 77);
  CHECK(page[92] == 1);
  CHECK(page[95] == 4);
  // A sub-range read (SQLite reads 16 bytes at offset 24 to check the version).
  std::vector<uint8_t> part(16, 0);
  present_header(part, 24, 0x0a0b0c0d, 5);
  CHECK(part[0] == 0x0a);
  CHECK(part[3] == 0x0d);
  CHECK(part[7] == 5);

  // Table interior page with two cells (children 7, 9) and right-most child 12.
  std::vector<uint8_t> interior(1024, 0);
  interior[0] = 0x05;
  interior[4] = 2;                           // cells
  interior[8 + 3] = 12;                      // right-most pointer
  interior[12] = 0x03, interior[13] = 0xf0;  // cell 0 at 1008
  interior[14] = 0x03, interior[15] = 0xf8;  // cell 1 at 1016
  interior[1008 + 3] = 7;
  interior[1016 + 3] = 9;
  CHECK(interior_children(interior, 5) == std::vector<uint32_t>{7, 9, 12});
  interior[0] = 0x0d;  // a leaf has no children
  CHECK(interior_children(interior, 5).empty());
}

namespace {

// Page 1 of `page_size` bytes whose schema leaf holds `records` (each a complete record; rowids
// 1, 2, ..), cells packed from the end of the page as SQLite does.
std::vector<uint8_t> schema_page(uint32_t page_size,
                                 const std::vector<std::vector<uint8_t>>& records,
                                 const std::vector<uint64_t>& declared_sizes = {}) {
  std::vector<uint8_t> p(page_size, 0);
  // at(): GCC's -Wnull-dereference (the TSan build, -O1) takes p for possibly empty.
  p.at(100) = 0x0d;
  p.at(104) = static_cast<uint8_t>(records.size());  // cell count, u16 at 103
  size_t end = page_size;
  for (size_t i = 0; i < records.size(); ++i) {
    std::vector<uint8_t> cell;
    // A declared size beyond the record: the rest is on overflow pages (not written here).
    const uint64_t size =
        i < declared_sizes.size() && declared_sizes[i] != 0 ? declared_sizes[i] : records[i].size();
    if (size < 128) {
      cell.push_back(static_cast<uint8_t>(size));
    } else {
      cell.push_back(static_cast<uint8_t>(0x80 | (size >> 7)));
      cell.push_back(static_cast<uint8_t>(size & 0x7f));
    }
    cell.push_back(static_cast<uint8_t>(i + 1));  // rowid
    cell.insert(cell.end(), records[i].begin(), records[i].end());
    if (size > records[i].size()) cell.insert(cell.end(), {0, 0, 0, 99});  // first overflow page
    end -= cell.size();
    std::copy(cell.begin(), cell.end(), p.begin() + static_cast<ptrdiff_t>(end));
    p[108 + i * 2] = static_cast<uint8_t>(end >> 8);
    p[109 + i * 2] = static_cast<uint8_t>(end);
  }
  return p;
}

// A sqlite_schema record: type, name, tbl_name as text, rootpage as a `root_bytes`-byte integer
// (0: the NULL/0 of a view), sql as text of `sql_len` bytes.
std::vector<uint8_t> schema_record(uint32_t root, int root_bytes, size_t sql_len) {
  const std::string type = "table", name = "t", tbl = "t";
  const uint64_t sql_type = 13 + 2 * sql_len;
  std::vector<uint8_t> header = {0,
                                 static_cast<uint8_t>(13 + 2 * type.size()),
                                 static_cast<uint8_t>(13 + 2 * name.size()),
                                 static_cast<uint8_t>(13 + 2 * tbl.size()),
                                 static_cast<uint8_t>(root_bytes == 0 ? 8 : root_bytes),
                                 static_cast<uint8_t>(0x80 | (sql_type >> 7)),
                                 static_cast<uint8_t>(sql_type & 0x7f)};
  header[0] = static_cast<uint8_t>(header.size());
  std::vector<uint8_t> r = header;
  r.insert(r.end(), type.begin(), type.end());
  r.insert(r.end(), name.begin(), name.end());
  r.insert(r.end(), tbl.begin(), tbl.end());
  for (int i = root_bytes - 1; i >= 0; --i) r.push_back(static_cast<uint8_t>(root >> (8 * i)));
  r.insert(r.end(), sql_len, 'x');
  return r;
}

// An interior table b-tree page (0x05) of 4 KiB naming `kids` (the last as its right child).
std::vector<uint8_t> interior_page(std::vector<uint32_t> kids) {
  std::vector<uint8_t> p(4096, 0);
  p[0] = 0x05;
  const uint32_t cells = static_cast<uint32_t>(kids.size() - 1);
  p[3] = static_cast<uint8_t>(cells >> 8);
  p[4] = static_cast<uint8_t>(cells);
  p[11] = static_cast<uint8_t>(kids.back());
  p[10] = static_cast<uint8_t>(kids.back() >> 8);
  for (uint32_t i = 0; i < cells; ++i) {
    const uint32_t at = 2048 + i * 8;
    p[12 + i * 2] = static_cast<uint8_t>(at >> 8);
    p[13 + i * 2] = static_cast<uint8_t>(at);
    p[at + 2] = static_cast<uint8_t>(kids[i] >> 8);
    p[at + 3] = static_cast<uint8_t>(kids[i]);
  }
  return p;
}

}  // namespace

TEST_CASE("b-tree pages: the root pages page 1's schema names", "[replica][unit]") {
  // A table, an index with a 2-byte root, a view (rootpage 0), a table whose SQL overflows (its
  // rootpage is still in the local part: of a 9,000-byte payload on a 4 KiB page, SQLite keeps
  // the first 816 bytes on the page).
  const auto page = schema_page(4096,
                                {schema_record(2, 1, 30), schema_record(300, 2, 40),
                                 schema_record(0, 0, 20), schema_record(7, 1, 801)},
                                {0, 0, 0, 9000});
  CHECK(schema_roots(page, 64) == std::vector<uint32_t>{2, 300, 7});
  CHECK(schema_roots(page, 2) == std::vector<uint32_t>{2, 300});
  // Not a schema leaf: an interior page 1 (a large schema) or garbage gives nothing.
  auto interior = page;
  interior[100] = 0x05;
  CHECK(schema_roots(interior, 64).empty());
  auto bad = page;
  bad[103] = 0x7f;  // more cells than the page can hold pointers for
  CHECK(schema_roots(bad, 64).empty());
  bad = page;
  bad[4096 - 3] = 0xff;  // the last cell's header size runs past its payload: skipped
  CHECK(schema_roots(bad, 64).size() <= 3);
  CHECK(schema_roots(std::vector<uint8_t>(50, 0), 64).empty());

  // The tracker hands the roots out once, when page 1 is read.
  ReadTracker tracker(16);
  CHECK(tracker.after_read(1, page) == std::vector<uint32_t>{2, 300, 7});
  CHECK(tracker.after_read(1, page).empty());
  tracker.reset();  // another snapshot: again
  CHECK(tracker.after_read(1, page) == std::vector<uint32_t>{2, 300, 7});
  ReadTracker off(0);  // prefetch=0
  CHECK(off.after_read(1, page).empty());
}

TEST_CASE("read tracker: a run from a table's first leaf starts with a larger window",
          "[replica][unit]") {
  // Page 1 names table root 2; the root's first child is interior page 10, whose children are
  // leaves 11..60. A run from leaf 11 (reached by first children from the root) is a scan of the
  // whole table, most likely: its first window is 256 pages, not 4 (W4's cold scan: two round
  // trips less of ramp).
  const auto page1 = schema_page(4096, {schema_record(2, 1, 30)}, {0});
  std::vector<uint32_t> leaves;
  for (uint32_t p = 11; p <= 60; ++p) leaves.push_back(p);
  const std::vector<uint8_t> leaf(4096, 0x0d);
  for (const bool from_start : {true, false}) {
    INFO((from_start ? "from the first leaf" : "from the third leaf"));
    ReadTracker t(1024);
    t.readahead(1, 5000);
    t.after_read(1, page1);
    t.readahead(2, 5000);
    t.after_read(2, interior_page({10, 500, 900}));
    t.readahead(10, 5000);
    t.after_read(10, interior_page(leaves));
    const uint32_t first = from_start ? 11 : 13;
    std::vector<uint32_t> ahead;
    for (uint32_t p = first; p < first + 3; ++p) {
      ahead = t.readahead(p, 5000);
      t.after_read(p, leaf);
    }
    REQUIRE_FALSE(ahead.empty());
    CHECK(ahead.front() == first + 3);
    CHECK(ahead.size() == (from_start ? 256u : 4u));
  }
}

TEST_CASE("read tracker: a point lookup prefetches nothing, a scan does", "[replica][unit]") {
  const auto interior = interior_page;
  std::vector<uint32_t> kids;
  for (uint32_t k = 100; k < 200; k += 2) kids.push_back(k);  // not consecutive page numbers
  const auto root = interior(kids);
  const std::vector<uint8_t> leaf(4096, 0);

  ReadTracker point(16);
  CHECK(point.readahead(40, 1000).empty());
  CHECK(point.after_read(40, root).empty());
  CHECK(point.readahead(130, 1000).empty());
  // Its miss brings the next 8 siblings along in the same request (a range query reads them
  // next; a point query pays their bytes, no request), not beyond the database's end.
  CHECK(point.window(130, 1000).pages ==
        std::vector<uint32_t>{132, 134, 136, 138, 140, 142, 144, 146});
  CHECK(point.window(130, 1000).along_only);
  CHECK(point.window(130, 135).pages == std::vector<uint32_t>{132, 134});
  CHECK(point.window(198, 1000).pages.empty());  // the last child has no next sibling
  CHECK(point.after_read(130, leaf).empty());    // one child: a lookup
  CHECK(point.after_read(170, leaf).empty());    // another, not adjacent: a second lookup
  {
    // Siblings far from the missed child in page numbers (another region of the file, likely
    // another request) do not ride along; nor does anything for a page no parent names.
    ReadTracker far(16);
    far.after_read(40, interior({100, 101, 300, 301}));
    far.readahead(101, 1000);
    CHECK(far.window(101, 1000).pages.empty());
    far.readahead(100, 1000);
    CHECK(far.window(100, 1000).pages == std::vector<uint32_t>{101});
    far.readahead(500, 1000);
    CHECK(far.window(500, 1000).pages.empty());
    ReadTracker off(0);  // prefetch=0
    off.after_read(40, root);
    off.readahead(130, 1000);
    CHECK(off.window(130, 1000).pages.empty());
  }

  ReadTracker scan(16);
  scan.after_read(40, root);
  CHECK(scan.after_read(100, leaf).empty());
  const auto ahead = scan.after_read(102, leaf);  // adjacent children: a scan
  REQUIRE(ahead.size() == 8);                     // the first window of children is 8
  CHECK(ahead.front() == 104);
  CHECK(ahead.back() == 118);
  CHECK(scan.after_read(104, leaf).empty());  // 7 of 8 still ahead
  CHECK(scan.after_read(106, leaf).empty());
  CHECK(scan.after_read(108, leaf).empty());
  CHECK(scan.after_read(110, leaf).empty());        // 4 of 8 still ahead
  const auto doubled = scan.after_read(112, leaf);  // 3 left: the next window, 16 (the budget)
  REQUIRE(doubled.size() == 13);                    // children after 118 up to 112's + 16
  CHECK(doubled.front() == 120);
  CHECK(doubled.back() == 144);
  // With room in the budget, each window of children is four times the last (a scan reaches
  // the budget in fewer round trips: W4's cold scan 0.94 -> 0.86 s).
  ReadTracker wide(64);
  wide.after_read(40, root);
  wide.after_read(100, leaf);
  CHECK(wide.after_read(102, leaf).size() == 8);
  for (uint32_t p = 104; p <= 110; p += 2) CHECK(wide.after_read(p, leaf).empty());
  const auto quad = wide.after_read(112, leaf);  // children after 118 up to 112's + 32
  REQUIRE(quad.size() == 29);
  CHECK(quad.front() == 120);
  CHECK(quad.back() == 176);
  // An interior page that is the next child of a scanned parent: its first children at once.
  {
    std::vector<uint32_t> top_kids{40, 41, 42, 43};
    ReadTracker tree(64);
    tree.after_read(2, interior(top_kids));
    tree.after_read(40, interior({300, 301, 302}));
    tree.after_read(300, leaf);
    tree.after_read(301, leaf);
    tree.after_read(302, leaf);
    const auto next = tree.after_read(41, root);  // child 1 of page 2 after child 0: entered
    CHECK(std::find(next.begin(), next.end(), 100) != next.end());
    CHECK(std::find(next.begin(), next.end(), 42) != next.end());  // and page 2's next child
  }

  ReadTracker seq(64);
  auto step = [&](uint32_t p, uint32_t commit = 1000) {
    auto out = seq.readahead(p, commit);
    seq.after_read(p, leaf);
    return out;
  };
  // A path of interior pages numbered in a row is no scan.
  for (uint32_t p = 2; p <= 5; ++p) {
    CHECK(seq.readahead(p, 1000).empty());
    seq.after_read(p, root);
  }
  for (uint32_t p = 10; p <= 11; ++p) CHECK(step(p).empty());
  const auto ra = step(12);  // the third leaf in a row: a scan
  REQUIRE(ra.size() == 4);
  CHECK(ra.front() == 13);
  CHECK(step(13).empty());  // half a window still ahead
  CHECK(step(14).empty());
  const auto more = step(15);  // the next window is eight times as large: 32
  REQUIRE(more.size() == 31);
  CHECK(more.front() == 17);
  CHECK(more.back() == 47);
  for (uint32_t p = 16; p < 32; ++p) CHECK(step(p).empty());  // half of 32 still ahead
  const auto capped = step(32, 60);  // then 64 (the budget), up to the database's end
  CHECK(capped.front() == 48);
  CHECK(capped.back() == 60);
  // A miss in a run fetches the window after it, whatever was handed out before.
  CHECK(seq.window(32, 1000).pages.size() == 64);
  CHECK(seq.window(32, 1000).pages.front() == 33);
  CHECK_FALSE(seq.window(32, 1000).along_only);  // what does not join it is prefetched

  // A run just begun does not cut a lookup's siblings short (W4b): an index leaf, then a table
  // leaf 5 page numbers on, read through its parent, make two data pages "in a row", whose
  // window is 4 pages; the parent names 8 more leaves after it, which ride along instead.
  {
    std::vector<uint32_t> table_kids;
    for (uint32_t p = 314; p <= 330; ++p) table_kids.push_back(p);
    ReadTracker lookup(64);
    lookup.readahead(309, 1000);
    lookup.after_read(309, leaf);  // the index leaf
    lookup.readahead(481, 1000);
    lookup.after_read(481, interior(table_kids));  // the table's interior page
    CHECK(lookup.readahead(314, 1000).empty());    // a run of 2: no read-ahead yet
    const auto w = lookup.window(314, 1000);
    CHECK(w.pages == std::vector<uint32_t>{315, 316, 317, 318, 319, 320, 321, 322});
    CHECK(w.along_only);
    // Without a parent naming it, the run's window of 4 stays.
    ReadTracker orphan(64);
    orphan.readahead(309, 1000);
    orphan.after_read(309, leaf);
    orphan.readahead(314, 1000);
    CHECK(orphan.window(314, 1000).pages == std::vector<uint32_t>{315, 316, 317, 318});
    CHECK_FALSE(orphan.window(314, 1000).along_only);
  }

  // Leaves in runs with other pages between (a table written along with an index): short
  // forward jumps and an interior page read in between keep the run going.
  ReadTracker jumps(64);
  auto jstep = [&](uint32_t p, const std::vector<uint8_t>& page) {
    auto out = jumps.readahead(p, 1000);
    jumps.after_read(p, page);
    return out;
  };
  CHECK(jstep(100, leaf).empty());
  CHECK(jstep(101, leaf).empty());
  CHECK(jstep(120, leaf).size() == 4);   // third leaf, 19 pages on: still a run
  CHECK(jstep(500, root).empty());       // the next parent, far away: neither extends nor breaks
  CHECK(jstep(125, leaf).size() == 32);  // the run goes on, the window grew eightfold
  CHECK(jstep(400, leaf).empty());       // a leaf far away: a new run
  CHECK(jstep(401, leaf).empty());
  CHECK(jstep(402, leaf).size() == 4);
}

TEST_CASE("snapshots: build, extend with shared chunks, shrink", "[replica][unit]") {
  const std::string dir = fresh_dir("engine-snapshots");
  ModelPrimary m(dir, 512);
  for (uint32_t p = 1; p <= 3000; ++p) m.set(p, 1);
  m.commit();
  m.set(5, 2);
  m.set(3001, 2);
  m.commit();
  m.truncate(2000);
  m.set(7, 3);
  m.commit();

  IndexCache indexes(m.store());
  auto files = ltxvfs::history::list_ltx_files(m.store(), ltxvfs::storage::LayoutStyle::kDirectory);
  REQUIRE(files.size() == 3);
  auto idx = indexes.load({files[0]});
  auto s1 = build_snapshot(idx, indexes.header(*idx[0]), 0);
  CHECK(s1->txid() == 1);
  CHECK(s1->commit() == 3000);
  CHECK(s1->locate(3001) == std::nullopt);
  auto s2 =
      extend_snapshot(*s1, indexes.load({files[1]}), indexes.header(*indexes.load({files[1]})[0]));
  CHECK(s2->commit() == 3001);
  CHECK(s2->locate(5)->file->file.key == files[1].key);
  CHECK(s2->locate(6)->file->file.key == files[0].key);
  CHECK(s1->locate(5)->file->file.key == files[0].key);  // the base is untouched
  auto s3 =
      extend_snapshot(*s2, indexes.load({files[2]}), indexes.header(*indexes.load({files[2]})[0]));
  CHECK(s3->commit() == 2000);
  CHECK_FALSE(s3->locate(2001));
  CHECK(s3->files().size() == 3);
  // Index reads: one tail GET per object (small files: the header comes with it).
  CHECK(indexes.stats().tails_fetched == 3);
  CHECK(indexes.stats().headers_fetched <= 1);  // only the large snapshot needs its own
  // Not contiguous: refused.
  CHECK_THROWS(
      extend_snapshot(*s1, indexes.load({files[2]}), indexes.header(*indexes.load({files[2]})[0])));
}

TEST_CASE("replica engine: reads, follows, travels in time, survives lost objects",
          "[replica][unit]") {
  const bool native = GENERATE(true, false);
  const std::string dir = fresh_dir(native ? "engine-engine-native" : "engine-engine-litestream");
  ModelPrimary m(dir, 1024, native);
  for (uint32_t p = 1; p <= 200; ++p) m.set(p, 1);
  m.commit();
  m.set(3, 2);
  m.commit();

  Replica r = open_replica(options_for(dir));
  auto s = r.pin();
  CHECK(s->txid() == 2);
  for (uint32_t p : {1u, 2u, 3u, 150u, 200u}) CHECK(read_page(r, *s, p) == expected_page(m, *s, p));
  // Past the end: zeros and a short read.
  std::vector<uint8_t> past(1024, 0xff);
  CHECK_FALSE(r.read(*s, 200 * 1024, past, nullptr));
  CHECK(past == std::vector<uint8_t>(1024, 0));

  // The primary moves on; the pinned snapshot does not, the next pin does.
  for (uint32_t p = 201; p <= 210; ++p) m.set(p, 4);
  m.set(3, 4);
  m.commit();
  CHECK(r.wait_for(3, std::chrono::milliseconds(5000)) == 3);
  CHECK(read_page(r, *s, 3) == expected_page(m, *s, 3));
  auto s3 = r.pin();
  CHECK(s3->txid() == 3);
  CHECK(s3->commit() == 210);
  CHECK(read_page(r, *s3, 3) == expected_page(m, *s3, 3));
  CHECK(read_page(r, *s3, 205) == expected_page(m, *s3, 205));
  CHECK(s3->change_counter() != s->change_counter());
  CHECK_THAT(error_of([&] { r.wait_for(99, std::chrono::milliseconds(50)); }),
             Catch::Contains("did not reach TXID 99"));

  // Time travel by TXID and by time; then back to following.
  auto back = r.move_to({Position::Kind::kTxid, 1, 0});
  CHECK(back->txid() == 1);
  CHECK(read_page(r, *back, 3) == expected_page(m, *back, 3));
  auto by_time = r.move_to({Position::Kind::kTime, 0, 1'700'000'000'000 + 2500});
  CHECK(by_time->txid() == 2);
  CHECK_THAT(error_of([&] { r.wait_for(3, std::chrono::milliseconds(10)); }),
             Catch::Contains("held at"));
  CHECK_THAT(error_of([&] {
               r.move_to({Position::Kind::kTxid, 42, 0});
             }),
             Catch::Contains("cannot be reached"));
  CHECK(r.move_to({})->txid() == 3);

  // Compaction replaces the level-0 files; the old objects go away under a pinned snapshot.
  auto pinned = r.pin();
  m.commit(9, /*snapshot=*/true);  // TXID 4 as a full snapshot at level 9
  for (uint64_t t = 1; t <= 3; ++t) m.store().remove({m.key(0, t, t)});
  std::vector<uint8_t> buf(1024);
  try {
    r.read(*pinned, 99 * 1024, buf, nullptr);
    FAIL("a read from a deleted object must fail");
  } catch (const ReplicaError& e) {
    CHECK(e.kind() == ReplicaErrorKind::kSnapshotLost);
    CHECK_THAT(e.what(), Catch::Contains("retry the transaction"));
  }
  auto fresh = r.pin();  // re-planned on the level-9 snapshot
  CHECK(fresh->txid() == 4);
  CHECK(fresh->files().size() == 1);
  CHECK(read_page(r, *fresh, 99) == expected_page(m, *fresh, 99));
  CHECK(r.stats().lost >= 1);
}

TEST_CASE("replica engine: a TXID gap holds the replica back until it is filled",
          "[replica][unit]") {
  const std::string dir = fresh_dir("engine-gap");
  ModelPrimary m(dir, 512);
  for (uint32_t p = 1; p <= 20; ++p) m.set(p, 1);
  m.commit();
  m.set(2, 2);
  m.commit();
  m.set(4, 3);
  m.commit();
  // TXID 2 is missing (not uploaded yet), TXID 3 is there: the replica must stay at 1.
  const auto two = m.key(0, 2, 2);
  const auto body = m.store().get(two).body;
  m.store().remove({two});
  Replica r = open_replica(options_for(dir));
  CHECK(r.current()->txid() == 1);
  CHECK(r.stats().waiting_after == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(r.current()->txid() == 1);
  m.store().put(two, body);
  CHECK(r.wait_for(3, std::chrono::milliseconds(5000)) == 3);
  auto s = r.pin();
  CHECK(read_page(r, *s, 2) == expected_page(m, *s, 2));
  CHECK(read_page(r, *s, 4) == expected_page(m, *s, 4));
  CHECK(r.stats().waiting_after == 0);
}

TEST_CASE("replica engine: a replaced history is detected and re-planned", "[replica][unit]") {
  const std::string dir = fresh_dir("engine-replaced");
  auto a = std::make_unique<ModelPrimary>(dir, 512);
  for (uint32_t p = 1; p <= 10; ++p) a->set(p, 1);
  a->commit();
  a->set(2, 2);
  a->commit();
  Replica r = open_replica(options_for(dir));
  auto before = r.pin();
  CHECK(before->txid() == 2);
  // Someone deletes the replica and a new primary starts over with other content.
  fs::remove_all(dir + "/ltx");
  ModelPrimary b(dir, 512);
  for (uint32_t p = 1; p <= 12; ++p) b.set(p, 7);
  b.commit();
  for (int i = 0; i < 3; ++i) {
    b.set(3, static_cast<uint32_t>(10 + i));
    b.commit();
  }
  CHECK(r.wait_for(4, std::chrono::milliseconds(5000)) == 4);
  auto after = r.pin();
  CHECK(after->epoch() != before->epoch());  // SQLite will drop its page cache
  CHECK(read_page(r, *after, 2) == expected_page(b, *after, 2));
  CHECK(read_page(r, *after, 3) == expected_page(b, *after, 3));
}

TEST_CASE("replica engine: a compaction spanning the replica's TXID is followed",
          "[replica][unit]") {
  const std::string dir = fresh_dir("engine-spanning");
  ModelPrimary m(dir, 512);
  for (uint32_t p = 1; p <= 10; ++p) m.set(p, 1);
  m.commit();
  for (uint32_t t = 2; t <= 3; ++t) {
    m.set(t, t);
    m.commit();
  }
  auto options = options_for(dir);
  options.poll_ms = 3600000;  // no poll sees the level-0 files below before they are gone
  Replica r = open_replica(options);
  REQUIRE(r.current()->txid() == 3);
  // TXIDs 4 and 5 reach the store only inside a level-1 file covering 2..5.
  for (uint32_t t = 4; t <= 5; ++t) {
    m.set(t, t);
    m.commit();
  }
  std::vector<std::vector<uint8_t>> bodies;
  for (uint64_t t = 2; t <= 5; ++t) bodies.push_back(m.store().get(m.key(0, t, t)).body);
  std::vector<ltxvfs::ltx::MemorySource> sources(bodies.begin(), bodies.end());
  std::vector<ltxvfs::ltx::NamedSource> inputs;
  for (auto& src : sources) inputs.push_back({&src, "input"});
  ltxvfs::ltx::VectorSink sink;
  ltxvfs::ltx::compact(inputs, sink, ltxvfs::ltx::EncodeOptions::native());
  m.store().put(m.key(1, 2, 5), sink.bytes());
  m.store().remove({m.key(0, 4, 4), m.key(0, 5, 5)});
  CHECK(r.wait_for(5, std::chrono::milliseconds(10000)) == 5);
  auto s = r.pin();
  for (uint32_t p = 1; p <= 10; ++p) CHECK(read_page(r, *s, p) == expected_page(m, *s, p));
}

TEST_CASE("replica polling: slows down after a minute of nothing new, at most to 10 s",
          "[replica][unit]") {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const milliseconds base(1000);
  CHECK(next_poll_interval(base, base, seconds(59)) == base);
  CHECK(next_poll_interval(base, base, seconds(60)) == milliseconds(2000));
  CHECK(next_poll_interval(base, milliseconds(8000), seconds(90)) == milliseconds(10000));
  CHECK(next_poll_interval(base, milliseconds(10000), seconds(900)) == milliseconds(10000));
  // A change (quiet 0) returns to the configured interval at once.
  CHECK(next_poll_interval(base, milliseconds(10000), seconds(0)) == base);
  // A poll_ms above 10 s is kept.
  CHECK(next_poll_interval(seconds(30), seconds(30), seconds(600)) == seconds(30));
}

TEST_CASE("replica engine: polls the head, lists only when it changed, follows what it commits",
          "[replica][unit]") {
  const std::string dir = fresh_dir("engine-head");
  ModelPrimary m(dir, 512);
  for (uint32_t p = 1; p <= 20; ++p) m.set(p, 1);
  m.commit();
  ltxvfs::history::HeadKeeper head(m.store(), ltxvfs::storage::LayoutStyle::kDirectory, [] {
    return ltxvfs::history::HeadIdentity{"w:1:1", 1};
  });
  REQUIRE(head.take([](const ltxvfs::history::History&) { return uint64_t{1}; }) == 1);
  Replica r = open_replica(options_for(dir));
  REQUIRE(r.current()->txid() == 1);
  const auto polls_past = [&](uint64_t n) {
    for (int i = 0; i < 500 && r.stats().polls < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(r.stats().polls >= n);
  };
  // Nothing new: each poll is one GET of head.json (a directory answers "unchanged" from a
  // stat), no listing. Before head.json, every poll listed level 0.
  polls_past(2);
  const auto before = r.stats();
  polls_past(before.polls + 10);
  const auto idle = r.stats();
  CHECK(idle.store.lists - before.store.lists <= 1);  // a full listing may fall in (1 in 30)
  CHECK(idle.lag_txids == 0);
  CHECK(idle.lag_ms == 0);

  // TXID 2 is PUT but not committed (a writer between its upload and its head's advance, or a
  // fenced-out writer's late upload): the replica does not follow it.
  m.set(2, 2);
  m.commit();
  polls_past(r.stats().polls + 5);
  CHECK(r.current()->txid() == 1);
  // The head commits it: followed.
  head.advance({0, 2, 2, m.key(0, 2, 2), 0, 0});
  CHECK(r.wait_for(2, std::chrono::milliseconds(5000)) == 2);
  auto s = r.pin();
  CHECK(read_page(r, *s, 2) == expected_page(m, *s, 2));
  CHECK(r.stats().lag_txids == 0);
}

TEST_CASE("replica engine: replicas sharing a location read right while each fills its cache",
          "[replica][unit]") {
  // Two replicas over one Location (one page cache of 8 pages), three readers each, reading
  // random pages: one replica's fetcher puts pages into the cache while the other's get() is
  // between its look at the cache and its claim of the request. Every read must return its page
  // (before the fix, a reader could find its own page left out of its own request).
  const std::string dir = fresh_dir("engine-shared-location");
  ModelPrimary m(dir, 1024);
  for (uint32_t p = 1; p <= 300; ++p) m.set(p, 1);
  m.commit();
  ReplicaOptions options = options_for(dir);
  options.cache_bytes = 8 * 1024;
  options.prefetch_pages = 0;
  auto location = location_for(options);
  Replica a(options, location, nullptr), b(options, location, nullptr);
  std::atomic<int> wrong{0}, failed{0};
  std::string first_error;
  std::mutex error_mu;
  auto reader = [&](Replica& r, unsigned seed) {
    std::mt19937 rng(seed);
    const auto s = r.pin();
    for (int i = 0; i < 5000; ++i) {
      const uint32_t p = 1 + rng() % 300;
      try {
        if (read_page(r, *s, p) != expected_page(m, *s, p)) ++wrong;
      } catch (const std::exception& e) {
        if (failed++ == 0) {
          std::lock_guard lock(error_mu);
          first_error = e.what();
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 6; ++t) threads.emplace_back(reader, std::ref(t % 2 ? a : b), t);
  for (auto& t : threads) t.join();
  INFO(first_error);
  CHECK(failed == 0);
  CHECK(wrong == 0);
  CHECK(a.stats().cache.hits + a.stats().cache.misses >= 30000);  // one cache counted every read
}

namespace {

// Counts sequential round trips without trusting the scheduler: every request waits in the
// current wave until no new request has arrived for kQuiet, then the whole wave goes out at once.
// A request that needs an earlier answer can only be sent after that answer's wave went out, so
// it lands in a later wave; requests sent side by side share one. (Counting by elapsed time
// instead saw 3 waves for 2 when a loaded machine started one of a wave's requests 50 ms late.)
// Only a request sent more than kQuiet after its wave's last one is counted one wave too late.
class RoundTripStore final : public ltxvfs::storage::ObjectStore {
 public:
  explicit RoundTripStore(std::unique_ptr<ObjectStore> inner) : inner_(std::move(inner)) {}
  int waves() const {
    std::lock_guard lock(mu_);
    return released_;
  }
  uint64_t bytes_got() const { return bytes_got_.load(); }
  uint64_t suffix_gets() const { return suffix_gets_.load(); }

  ltxvfs::storage::PutResult put(const std::string& key, std::span<const uint8_t> body,
                                 const ltxvfs::storage::PutOptions& options) override {
    return in_wave([&] { return inner_->put(key, body, options); });
  }
  ltxvfs::storage::GetResult get(const std::string& key,
                                 std::optional<ltxvfs::storage::ByteRange> range) override {
    if (range && range->suffix) ++suffix_gets_;
    auto got = in_wave([&] { return inner_->get(key, range); });
    bytes_got_ += got.body.size();
    return got;
  }
  std::optional<ltxvfs::storage::ObjectInfo> head(const std::string& key) override {
    return in_wave([&] { return inner_->head(key); });
  }
  std::vector<ltxvfs::storage::ObjectInfo> list(const std::string& prefix,
                                                const std::string& start_after) override {
    return in_wave([&] { return inner_->list(prefix, start_after); });
  }
  void remove(const std::vector<std::string>& keys) override {
    in_wave([&] {
      inner_->remove(keys);
      return 0;
    });
  }
  std::string describe() const override { return inner_->describe(); }

 private:
  static constexpr std::chrono::milliseconds kQuiet{300};

  // Runs one request once its wave goes out.
  template <typename F>
  std::invoke_result_t<F> in_wave(F call) {
    {
      std::unique_lock lock(mu_);
      const int wave = released_ + 1;
      last_arrival_ = std::chrono::steady_clock::now();
      wake_.notify_all();  // the waiters' quiet period starts again
      while (released_ < wave) {
        const auto quiet_until = last_arrival_ + kQuiet;
        if (std::chrono::steady_clock::now() >= quiet_until) {
          released_ = wave;
          wake_.notify_all();
          break;
        }
        wake_.wait_until(lock, quiet_until);
      }
    }
    return call();
  }

  const std::unique_ptr<ObjectStore> inner_;  // thread-safe itself
  mutable std::mutex mu_;
  std::condition_variable wake_;
  int released_ = 0;                                    // guarded by mu_: waves sent so far
  std::chrono::steady_clock::time_point last_arrival_;  // guarded by mu_
  std::atomic<uint64_t> bytes_got_{0};                  // GET body bytes
  std::atomic<uint64_t> suffix_gets_{0};                // GETs of `bytes=-N`
};

struct CountedLocation {
  RoundTripStore* store;
  std::shared_ptr<Location> location;
};

CountedLocation counted_location(const ReplicaOptions& options) {
  auto opened = ltxvfs::storage::open_store(options.store_url(), replica_store_settings());
  auto counting = std::make_unique<RoundTripStore>(std::move(opened.store));
  RoundTripStore* raw = counting.get();
  opened.store = std::move(counting);
  return {raw, std::make_shared<Location>(std::move(opened), options.cache_bytes)};
}

}  // namespace

TEST_CASE("replica engine: an open reads the head, the listing and the indexes in 2 round trips",
          "[replica][unit]") {
  // Issue 17: an open was head.json, then the listing, then the chain's page indexes 8 at a time,
  // then the newest file's header: 4 round trips for these 21 files, 3 for one large snapshot.
  const std::string dir = fresh_dir("engine-open-round-trips");
  ModelPrimary m(dir, 1024);
  for (uint32_t p = 1; p <= 100; ++p) m.set(p, 1);
  m.commit();
  for (uint32_t t = 0; t < 20; ++t) {
    m.set(1 + t, 2 + t);
    m.commit();
  }
  ReplicaOptions options = options_for(dir);
  options.poll_ms = 60'000;  // nothing but the open
  auto counted = counted_location(options);
  Replica r(options, counted.location, nullptr);
  CHECK(r.pin()->files().size() == 21);
  CHECK(counted.location->indexes().stats().tails_fetched == 21);
  CHECK(counted.store->waves() == 2);
  CHECK(read_page(r, *r.pin(), 5) == expected_page(m, *r.pin(), 5));

  // A snapshot too large for its tail read to hold its header: the header comes in the same
  // round trip as the index.
  const std::string big_dir = fresh_dir("engine-open-round-trips-big");
  ModelPrimary big(big_dir, 1024);
  for (uint32_t p = 1; p <= 4000; ++p) big.set(p, p);
  big.commit();
  REQUIRE(std::filesystem::file_size(big_dir + "/" + big.key(0, 1, 1)) >
          ltxvfs::ltx::kDefaultTailFetch);
  ReplicaOptions big_options = options_for(big_dir);
  big_options.poll_ms = 60'000;
  auto big_counted = counted_location(big_options);
  Replica b(big_options, big_counted.location, nullptr);
  CHECK(big_counted.location->indexes().stats().headers_fetched == 1);
  CHECK(big_counted.store->waves() == 2);
  CHECK(read_page(b, *b.pin(), 3999) == expected_page(big, *b.pin(), 3999));
}

namespace {

// What a writer's HeadKeeper records for `key` (history/head_record.h): the bytes from the end of
// the object that hold its page index.
std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

uint64_t exact_tail(const std::string& path) {
  const std::vector<uint8_t> bytes = file_bytes(path);
  const auto tail = std::span(bytes).last(ltxvfs::ltx::kMinTailSize);
  const auto parsed = ltxvfs::ltx::parse_file_tail(tail, bytes.size());
  REQUIRE(std::holds_alternative<ltxvfs::ltx::NeedTailBytes>(parsed));
  return std::get<ltxvfs::ltx::NeedTailBytes>(parsed).bytes;
}

}  // namespace

TEST_CASE("replica engine: a hydrating open that fails leaves no file behind", "[replica][unit]") {
  // hydrate=1's download begins once the open has planned, before its indexes are read
  // (vfs/replica/hydrator.h): an open that fails after that removes what it began.
  const std::string dir = fresh_dir("engine-hydrate-open-fails");
  ModelPrimary m(dir + "/replica", 1024);
  for (uint32_t p = 1; p <= 200; ++p) m.set(p, 1);
  m.commit();
  for (uint32_t p = 1; p <= 20; ++p) m.set(p, 2);
  m.commit();
  ltxvfs::history::HeadRecord head;  // a head, as an ltx primary writes: the download begins
  head.txid = 2;
  head.owner = "test";
  std::ofstream(dir + "/replica/" +
                ltxvfs::storage::head_key(ltxvfs::storage::LayoutStyle::kDirectory))
      << head.to_json();
  // Every GET of an LTX object fails but the hydration's download (streamed GETs).
  struct NoTails final : ltxvfs::testing::ForwardingStore {
    explicit NoTails(std::unique_ptr<ltxvfs::storage::ObjectStore> s)
        : ForwardingStore(*s), own(std::move(s)) {}
    ltxvfs::storage::GetResult get(const std::string& key,
                                   std::optional<ltxvfs::storage::ByteRange> range) override {
      if (key.ends_with(".ltx")) {
        throw ltxvfs::storage::StoreError(ltxvfs::storage::StoreErrorKind::kUnavailable,
                                          "test: no tails");
      }
      return ForwardingStore::get(key, range);
    }
    ltxvfs::storage::GetResult get_streamed(const std::string& key,
                                            const ltxvfs::storage::ByteRange& range,
                                            const Received& received) override {
      return own->get_streamed(key, range, received);
    }
    std::unique_ptr<ltxvfs::storage::ObjectStore> own;
  };
  ReplicaOptions options = options_for(dir + "/replica");
  options.hydrate = true;
  options.local_path = dir + "/local.db";
  auto opened = ltxvfs::storage::open_store(options.store_url(), replica_store_settings());
  opened.store = std::make_unique<NoTails>(std::move(opened.store));
  auto location = std::make_shared<Location>(std::move(opened), options.cache_bytes);
  CHECK_THROWS_WITH(Replica(options, location, nullptr), Catch::Contains("no tails"));
  CHECK_FALSE(std::filesystem::exists(options.local_path));
  CHECK_FALSE(std::filesystem::exists(options.local_path + "-ltx-hydrated"));
  // With its indexes readable, the same open hydrates.
  Replica r(options, location_for(options), nullptr);
  for (int i = 0; i < 5000 && r.stats().hydration.state == "running"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(r.stats().hydration.state == "done");
  CHECK(std::filesystem::exists(options.local_path));
}

TEST_CASE("replica engine: hydrate=1 over Litestream's files downloads each object once",
          "[replica][unit]") {
  // A history as Litestream writes it (no head.json, no checksums in the files): the open's
  // download is tied to its snapshot by the objects' etags. Before, it was not begun without a
  // head, and over ltx's format=litestream (a head) it was made and then made again page by page.
  const std::string dir = fresh_dir("engine-hydrate-litestream");
  ModelPrimary m(dir + "/replica", 1024, /*native=*/false);
  for (uint32_t p = 1; p <= 200; ++p) m.set(p, 1);
  m.commit();
  for (uint32_t p = 1; p <= 20; ++p) m.set(p, 2);
  m.commit();
  REQUIRE_FALSE(std::filesystem::exists(
      dir + "/replica/" + ltxvfs::storage::head_key(ltxvfs::storage::LayoutStyle::kDirectory)));
  uint64_t object_bytes = 0;
  for (const auto& f :
       ltxvfs::history::list_ltx_files(m.store(), ltxvfs::storage::LayoutStyle::kDirectory)) {
    object_bytes += f.size;
  }
  ReplicaOptions options = options_for(dir + "/replica");
  options.hydrate = true;
  options.local_path = dir + "/local.db";
  Replica r(options, location_for(options), nullptr);
  for (int i = 0; i < 5000 && r.stats().hydration.state == "running"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto stats = r.stats();
  REQUIRE(stats.hydration.state == "done");
  CHECK(stats.hydration.txid == 2);
  CHECK(stats.hydration.bytes == object_bytes);  // the chain once: no page-by-page pass after it
  const auto local = ltxvfs::base::read_file(options.local_path);
  REQUIRE(local.size() == 200 * 1024);
  for (uint32_t p = 2; p <= 200; ++p) {
    INFO("page " << p);
    const auto page = m.page_at(2, p);
    REQUIRE(std::equal(page.begin(), page.end(), local.begin() + (p - 1) * 1024));
  }
}

TEST_CASE("replica engine: with the head's tail hints an open reads each page index exactly",
          "[replica][unit]") {
  // Issue 17: an open read 64 KiB from the end of every object whatever its index (1.7 MiB for
  // W4's 29 files, whose indexes are a few KiB each). The head now names each level-0 file's
  // tail length, read beside the listing, so the second round trip asks for exactly that.
  const std::string dir = fresh_dir("engine-open-tail-hints");
  ModelPrimary m(dir, 1024);
  for (uint32_t p = 1; p <= 200; ++p) m.set(p, 1);
  m.commit(0, true);
  for (uint32_t t = 0; t < 8; ++t) {
    for (uint32_t p = 1; p <= 120; ++p) m.set(p + t * 10, 2 + t);
    m.commit();
  }
  ltxvfs::history::HeadRecord head;
  head.txid = 9;
  head.owner = "test";
  std::vector<ltxvfs::history::RemoteFile> files;
  uint64_t tails = 0;
  for (uint64_t txid = 1; txid <= 9; ++txid) {
    const std::string key = m.key(0, txid, txid);
    const uint64_t size = std::filesystem::file_size(dir + "/" + key);
    head.add_tail({0, txid, txid, size, exact_tail(dir + "/" + key)});
    REQUIRE(size > 2 * head.tails.back().tail_bytes);  // a hint saves bytes
    tails += head.tails.back().tail_bytes;
  }
  // Writes `h` as the head, then opens a replica through a counting store (nothing but the
  // open: no poll).
  struct Opened {
    CountedLocation counted;
    std::unique_ptr<Replica> replica;
  };
  const auto open_with = [&](const ltxvfs::history::HeadRecord& h) {
    std::ofstream(dir + "/" + ltxvfs::storage::head_key(ltxvfs::storage::LayoutStyle::kDirectory))
        << h.to_json();
    ReplicaOptions options = options_for(dir);
    options.poll_ms = 60'000;
    Opened o{counted_location(options), nullptr};
    o.replica = std::make_unique<Replica>(options, o.counted.location, nullptr);
    REQUIRE(o.replica->pin()->files().size() == 9);
    return o;
  };
  const uint64_t exact_bytes = head.to_json().size() + tails + ltxvfs::ltx::kHeaderSize;

  SECTION("exact hints: the tails and the newest header, nothing more") {
    auto [counted, r] = open_with(head);
    CHECK(counted.store->waves() == 2);
    CHECK(counted.location->indexes().stats().tails_fetched == 9);
    CHECK(counted.location->indexes().stats().headers_fetched == 1);
    CHECK(counted.store->bytes_got() == exact_bytes);
    // The listing gave every size: explicit ranges, which every S3-compatible server answers
    // (s3rver reads `bytes=-N` as the first N bytes).
    CHECK(counted.store->suffix_gets() == 0);
    for (uint32_t p : {1u, 75u, 200u})
      CHECK(read_page(*r, *r->pin(), p) == expected_page(m, *r->pin(), p));
  }
  // Page 1's newest version is in TXID 2's file (the commits after it leave page 1 alone), its
  // first frame: what the writer's page1 hint names.
  const std::string page1_path = dir + "/" + m.key(0, 2, 2);
  const std::vector<uint8_t> page1_file = file_bytes(page1_path);
  const uint64_t page1_file_size = page1_file.size();
  const auto page1_tail =
      std::get<ltxvfs::ltx::FileTail>(ltxvfs::ltx::parse_file_tail(page1_file, page1_file.size()));
  REQUIRE(page1_tail.index.find(1) != nullptr);
  const uint64_t page1_end = ltxvfs::ltx::kHeaderSize + page1_tail.index.find(1)->size;
  SECTION("page 1's hint: its bytes come beside the tails, and reading page 1 sends nothing") {
    head.page1 = ltxvfs::history::TailHint{0, 2, 2, page1_file_size, 0, page1_end};
    auto [counted, r] = open_with(head);
    CHECK(counted.store->waves() == 2);
    CHECK(counted.location->indexes().stats().page1_fetched == 1);
    // The head (now with the hint), the tails, the newest file's header, and page 1's bytes.
    CHECK(counted.store->bytes_got() ==
          head.to_json().size() + tails + ltxvfs::ltx::kHeaderSize + page1_end);
    const uint64_t before = counted.store->bytes_got();
    CHECK(read_page(*r, *r->pin(), 1) == expected_page(m, *r->pin(), 1));
    CHECK(counted.store->bytes_got() == before);
    CHECK(r->stats().fetch.requests == 0);
  }
  SECTION("a wrong page 1 hint costs its bytes only: page 1 is fetched, and right") {
    const uint64_t newest_size = std::filesystem::file_size(dir + "/" + m.key(0, 9, 9));
    for (const auto& hint : {
             // A file that holds no page 1 (its first frame is another page).
             ltxvfs::history::TailHint{0, 9, 9, newest_size, 0, page1_end},
             // The right file, too few bytes for the frame.
             ltxvfs::history::TailHint{0, 2, 2, page1_file_size, 0, ltxvfs::ltx::kHeaderSize + 9},
         }) {
      head.page1 = hint;
      auto [counted, r] = open_with(head);
      CHECK(counted.store->waves() == 2);
      CHECK(read_page(*r, *r->pin(), 1) == expected_page(m, *r->pin(), 1));
      CHECK(r->stats().fetch.requests == 1);
    }
  }
  SECTION("no hints: 64 KiB or the whole object per tail") {
    head.tails.clear();
    auto [counted, r] = open_with(head);
    CHECK(counted.store->bytes_got() > 10 * exact_bytes);  // 257 KB against 6.9 KB
  }
  SECTION("a hint too short costs a second GET, one too long costs bytes: the pages are right") {
    head.tails[0].tail_bytes = ltxvfs::ltx::kMinTailSize;
    head.tails[4].tail_bytes = head.tails[4].size;
    head.tails[8].tail_bytes = 3;  // not even a trailer: ignored
    auto [counted, r] = open_with(head);
    CHECK(counted.location->indexes().stats().tails_fetched == 10);
    for (uint32_t p : {1u, 75u, 200u})
      CHECK(read_page(*r, *r->pin(), p) == expected_page(m, *r->pin(), p));
  }
}
