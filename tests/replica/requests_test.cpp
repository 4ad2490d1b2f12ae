// What a replica costs and how it behaves at its edges: request counts of a cold point query
// (b-tree depth + open cost) and of a scan, lazy open, page sizes 1 KiB and 64 KiB with a page
// cache smaller than the database, writes refused, bad parameters refused, hydration.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/posix_file.h"
#include "ltx/page_index.h"
#include "storage/replica_layout.h"
#include "tests/replica/replica_support.h"

using namespace ltxvfs::testing;
namespace fs = std::filesystem;

namespace {

std::string local_replica(const std::string& dir) {
  return dir + "/app.db-ltx/replica";
}

// A primary holding `rows` rows of `bytes` random bytes under an INTEGER PRIMARY KEY.
std::unique_ptr<Db> blob_primary(const std::string& dir, int rows, int bytes,
                                 const std::string& params = "") {
  auto db = std::make_unique<Db>("file:" + dir + "/app.db?vfs=ltx&durability=remote" + params);
  db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  db->exec("INSERT INTO t SELECT i, randomblob(" + std::to_string(bytes) +
           ") FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
           std::to_string(rows) + ") SELECT i FROM n)");
  wait_uploaded(*db);
  return db;
}

// Pages on the longest root-to-leaf path of table `t` (dbstat over the primary's file).
int64_t btree_depth(const std::string& db_path) {
  Db plain("file:" + db_path + "?mode=ro", SQLITE_OPEN_READONLY);
  return plain.query_int(
      "SELECT max(length(path) - length(replace(path, '/', ''))) FROM dbstat WHERE name = 't'");
}

// Threads of this process named `name` (/proc/self/task/*/comm).
int threads_named(const std::string& name) {
  int n = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) ++n;
  }
  return n;
}

bool wait_for(const std::function<bool()>& cond, int ms) {
  for (int waited = 0; waited < ms; waited += 20) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

}  // namespace

TEST_CASE("a cold point query costs its b-tree path, open is lazy, a scan is coalesced",
          "[replica]") {
  const std::string dir = scratch_dir("requests");
  // About 8 MB. No compaction: a level-1 file made between the upload and the open would be the
  // plan's, while the head still names the level-0 file as holding page 1 until the next upload.
  auto primary = blob_primary(dir, 8000, 1000, "&levels=off");
  const int64_t db_bytes =
      primary->query_int("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size");
  REQUIRE(db_bytes > 8'000'000);
  const int64_t depth = btree_depth(dir + "/app.db");
  REQUIRE(depth >= 2);

  Db r(replica_uri(dir, local_replica(dir)), SQLITE_OPEN_READONLY);
  const auto opened = replica_stats(r);
  // Open: head.json and one listing, one tail read per object, a header read for a newest object
  // too large for its tail read to include it, and page 1: the head names the file holding it,
  // and its first bytes are read beside the tails (and hold that file's header). The head names
  // the table's root too (page 2, right after page 1 in the same file: one read).
  const uint64_t objects = opened["objects"];
  CHECK(opened["store"]["lists"] == 1);
  CHECK(opened["index"]["tails_fetched"] == objects);
  CHECK(opened["index"]["page1_fetched"] == 1);
  CHECK(opened["index"]["roots_fetched"] == 0);
  CHECK(opened["index"]["headers_fetched"].get<uint64_t>() <= 1);
  CHECK(opened["fetch"]["requests"] == 0);  // the root needs no request of its own
  CHECK(opened["requests"].get<uint64_t>() <= 1 + 1 + objects + 1 + 1);

  CHECK(r.query_int("SELECT length(v) FROM t WHERE id = 4321") == 1000);
  const auto point = replica_stats(r);
  const uint64_t page_gets = point["fetch"]["requests"];
  // The table's path below its root, one GET each at most: page 1 and the root came with the
  // open.
  CHECK(page_gets <= static_cast<uint64_t>(depth - 1));
  CHECK(point["requests"].get<uint64_t>() <= opened["requests"].get<uint64_t>() + depth - 1);
  CHECK(point["fetch"]["prefetch_requests"] == 0);
  // Lazy: what was downloaded is a small fraction of the database.
  CHECK(point["bytes"].get<int64_t>() < db_bytes / 20);
  INFO("cold point query: " << point.dump());

  // A full scan: read-ahead and prefetch fetch many pages per request.
  CHECK(dump(r, "SELECT count(*), sum(length(v)) FROM t") == "8000|8000000\n");
  const auto scan = replica_stats(r);
  const uint64_t pages = scan["fetch"]["pages"];
  const uint64_t gets = scan["fetch"]["requests"];
  INFO("scan: " << scan.dump());
  CHECK(pages > 1900);
  CHECK(gets * 8 < pages);
  CHECK(scan["cache"]["hits"].get<uint64_t>() > 0);
}

TEST_CASE("a replica of a database whose page index is long opens without reading it",
          "[replica]") {
  // Issue 17: past ~120 MiB of database an open read the page index itself. One transaction of
  // 20,000 rows of 3,500 bytes: one file whose index (~160 KB) the writer gives a directory in
  // head.json, and which the open then reads 24 bytes of (vfs/replica/lazy_index.h).
  const std::string dir = scratch_dir("requests-long-index");
  auto primary = blob_primary(dir, 20000, 3500, "&levels=off");
  const std::vector<uint8_t> head_bytes =
      ltxvfs::base::read_file(local_replica(dir) + "/head.json");
  const std::string head(head_bytes.begin(), head_bytes.end());
  REQUIRE(head.find("\"dirs\"") != std::string::npos);
  Db r(replica_uri(dir, local_replica(dir)), SQLITE_OPEN_READONLY);
  const auto opened = replica_stats(r);
  INFO("open: " << opened.dump());
  CHECK(opened["index"]["lazy"] == 1);
  // What the open read. The poller may be reading the rest behind it, counted apart before its
  // GET (so it may be counted there and not yet in "bytes"; never the other way round).
  CHECK(opened["bytes"].get<uint64_t>() <
        64 * 1024 + opened["index"]["whole_bytes"].get<uint64_t>());
  CHECK(r.query_int("SELECT length(v) FROM t WHERE id = 12345") == 3500);
  CHECK(dump(r, "SELECT count(*), sum(length(v)) FROM t") == "20000|70000000\n");
  CHECK(dump(r, "PRAGMA integrity_check") == "ok\n");
  const auto after = replica_stats(r);
  CHECK(after["index"]["parts_fetched"].get<uint64_t>() +
            after["index"]["wholes_fetched"].get<uint64_t>() >
        0);
  // The primary's rows, every one (two bytes of each, from every leaf page), and a few whole.
  Db plain("file:" + dir + "/app.db?mode=ro", SQLITE_OPEN_READONLY);
  const std::string every = "SELECT group_concat(hex(substr(v, 1 + id % 3000, 2)), '') FROM t";
  CHECK(dump(r, every) == dump(plain, every));
  for (int64_t id : {1, 777, 12345, 19999}) {
    const std::string sql = "SELECT hex(v) FROM t WHERE id = " + std::to_string(id);
    INFO(sql);
    CHECK(dump(r, sql) == dump(plain, sql));
  }
}

TEST_CASE("an open reads every table's and index's root beside page 1, wherever it last changed",
          "[replica]") {
  const std::string dir = scratch_dir("roots");
  // The table's root last changed in the file of the ALTER (every row grew); the index's root and
  // page 1 (its schema row) in the next one. No compaction: the plan takes those files.
  auto primary = blob_primary(dir, 3000, 500, "&levels=off");
  primary->exec("ALTER TABLE t ADD COLUMN k TEXT; UPDATE t SET k = hex(randomblob(8)) || id;");
  wait_uploaded(*primary);
  primary->exec("CREATE INDEX t_k ON t(k)");
  wait_uploaded(*primary);
  Db plain("file:" + dir + "/app.db?mode=ro", SQLITE_OPEN_READONLY);
  const int64_t index_depth = plain.query_int(
      "SELECT max(length(path) - length(replace(path, '/', ''))) FROM dbstat WHERE name = 't_k'");
  const int64_t table_depth = btree_depth(dir + "/app.db");
  REQUIRE(index_depth >= 2);
  const std::string k = dump(plain, "SELECT k FROM t WHERE id = 1234");

  Db r(replica_uri(dir, local_replica(dir)), SQLITE_OPEN_READONLY);
  const auto opened = replica_stats(r);
  INFO("open: " << opened.dump());
  // Page 1 with the index's root (one read), the table's root in its own file (one more): both
  // beside the page indexes, in the open's second round trip.
  CHECK(opened["index"]["page1_fetched"] == 1);
  CHECK(opened["index"]["roots_fetched"] == 1);
  CHECK(opened["fetch"]["requests"] == 0);
  // A lookup by the index, then the row: each b-tree's path below its root, one GET a level by
  // the query itself (a sibling the read tracker prefetches beside it may add one of its own).
  CHECK(dump(r, "SELECT id, length(v) FROM t WHERE k = '" + k.substr(0, k.size() - 1) + "'") ==
        "1234|500\n");
  const auto point = replica_stats(r);
  INFO("query: " << point.dump());
  const auto own = point["fetch"]["requests"].get<int64_t>() -
                   point["fetch"]["prefetch_requests"].get<int64_t>();
  CHECK(own <= (index_depth - 1) + (table_depth - 1));
}

TEST_CASE("a head written before the roots hint still brings the roots after page 1 with the open",
          "[replica]") {
  const std::string dir = scratch_dir("old-head");
  blob_primary(dir, 8000, 1000, "&levels=off").reset();  // closed: the head stays as written
  // The head as a writer before the roots hint wrote it: no roots, and page 1's hint reaching
  // over up to 16 frames after it, within 12 KiB of its end.
  const std::string head_path = local_replica(dir) + "/head.json";
  auto head = nlohmann::json::parse(std::ifstream(head_path));
  REQUIRE(head.contains("roots"));
  head.erase("roots");
  const auto& page1 = head["page1"];
  const std::string key = ltxvfs::storage::ltx_key(ltxvfs::storage::LayoutStyle::kDirectory,
                                                   page1[0], page1[1], page1[2]);
  std::ifstream in(local_replica(dir) + "/" + key, std::ios::binary);
  const std::vector<uint8_t> object{std::istreambuf_iterator<char>(in), {}};
  const auto tail =
      std::get<ltxvfs::ltx::FileTail>(ltxvfs::ltx::parse_file_tail(object, object.size()));
  const uint64_t page1_end = page1[4];
  uint64_t front_end = page1_end;
  for (size_t i = 1; i < tail.index.entries.size() && i <= 16; ++i) {
    const auto& e = tail.index.entries[i];
    if (e.offset != front_end || e.offset + e.size > page1_end + 12 * 1024) break;
    front_end = e.offset + e.size;
  }
  REQUIRE(tail.index.entries.at(1).pgno == 2);  // the table's root, right after page 1
  REQUIRE(front_end > page1_end);
  head["page1"][4] = front_end;
  std::ofstream(head_path) << head.dump();

  Db r(replica_uri(dir, local_replica(dir)), SQLITE_OPEN_READONLY);
  const auto opened = replica_stats(r);
  INFO("open: " << opened.dump());
  CHECK(opened["index"]["page1_fetched"] == 1);
  CHECK(opened["index"]["roots_fetched"] == 0);
  CHECK(opened["fetch"]["requests"] == 0);  // the root came in page 1's bytes: no prefetch
  CHECK(r.query_int("SELECT length(v) FROM t WHERE id = 4321") == 1000);
}

TEST_CASE("an idle replica holds no thread of its own, and it polls and prefetches again",
          "[replica]") {
  // Issue 18: a replica's polls are runs on the process's worker pool, and its prefetch workers
  // (ltx-prefetch) exist only while frames are queued.
  const std::string dir = scratch_dir("idle-replica");
  auto primary = blob_primary(dir, 4000, 1000);
  Db r(replica_uri(dir, local_replica(dir), "&poll_ms=100"), SQLITE_OPEN_READONLY);
  CHECK(dump(r, "SELECT count(*), sum(length(v)) FROM t") == "4000|4000000\n");
  // The scan handed frames to the prefetcher (so its workers started). Whether they or the
  // reader's own requests, up to 4 MiB each, fetched them depends on the load: their GETs are
  // not counted (3 of 8 runs side by side made none).
  CHECK(replica_stats(r)["fetch"]["prefetch_queued"].get<uint64_t>() > 0);
  CHECK(threads_named("ltx-poll") == 0);
  // Idle: the prefetch workers end (bounded wait; no timing asserted).
  REQUIRE(wait_for([] { return threads_named("ltx-prefetch") == 0; }, 60'000));
  // Polling goes on without a thread of its own: new commits arrive, and a scan of their pages
  // (not cached yet) prefetches again.
  const uint64_t queued = replica_stats(r)["fetch"]["prefetch_queued"];
  primary->exec(
      "INSERT INTO t SELECT 4000 + i, randomblob(1000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 "
      "UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT i FROM n)");
  const int64_t txid = wait_uploaded(*primary);
  CHECK(r.query_int("SELECT ltx_wait(" + std::to_string(txid) + ", 20000)") >= txid);
  CHECK(dump(r, "SELECT count(*), sum(length(v)) FROM t") == "6000|6000000\n");
  // Handed to the prefetcher again. Whether its GETs or the scan's own reach a frame first
  // depends on the machine's load (a worker starts after the reader's miss), so its requests
  // are not counted here.
  CHECK(replica_stats(r)["fetch"]["prefetch_queued"].get<uint64_t>() > queued);
}

TEST_CASE("a cold scan of a table written with an index: large requests, every row right",
          "[replica]") {
  // W4's shape: each transaction appends table leaves and index leaves, so the table's leaves
  // come in runs of page numbers with index pages between (issue 17: exact-adjacency coalescing
  // made such a scan one 17 KB request per run).
  const std::string dir = scratch_dir("scan-interleaved");
  Db primary("file:" + dir + "/app.db?vfs=ltx&durability=remote");
  primary.exec(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v BLOB); CREATE INDEX t_k ON t(k)");
  for (int txn = 0; txn < 6; ++txn) {
    primary.exec(
        "INSERT INTO t(k, v) SELECT (i * 7919) % 100003, randomblob(200) FROM "
        "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
        "SELECT i FROM n)");
  }
  wait_uploaded(primary);
  const std::string all = "SELECT id, k, hex(v) FROM t ORDER BY id";
  const std::string expected = dump(primary, all);
  const std::vector<std::string> caches = {"", "&cache_mb=2"};  // default 64 MiB, and < the DB
  for (size_t c = 0; c < caches.size(); ++c) {
    INFO("cache: " << caches[c]);
    Db r(replica_uri(dir, local_replica(dir), caches[c], "scan" + std::to_string(c) + ".db"),
         SQLITE_OPEN_READONLY);
    const auto before = replica_stats(r);
    CHECK(dump(r, all) == expected);  // every row of the scan, against the primary
    const auto after = replica_stats(r);
    INFO("scan: " << after.dump());
    const uint64_t gets =
        after["fetch"]["requests"].get<uint64_t>() - before["fetch"]["requests"].get<uint64_t>();
    const uint64_t bytes =
        after["fetch"]["bytes"].get<uint64_t>() - before["fetch"]["bytes"].get<uint64_t>();
    const uint64_t pages = after["fetch"]["pages"];
    CHECK(pages > 1500);  // ~7 MB of 4 KiB pages, all fetched
    // Requests average at least 128 KiB (1 MiB at most each; holes of index frames joined);
    // 64 KiB with a 2 MiB cache, whose read-ahead is bounded to a quarter of it (128 pages).
    CHECK(gets * (c == 0 ? (128u << 10) : (64u << 10)) <= bytes);
    // Holes are bounded: what was fetched but not asked for is a small part of the bytes.
    CHECK(after["fetch"]["gap_bytes"].get<uint64_t>() * 4 <= bytes);
    // The cache stays within cache_mb whatever the read-ahead.
    CHECK(after["cache"]["bytes"] <= after["cache"]["capacity_bytes"]);
  }
}

TEST_CASE("page sizes 1 KiB and 64 KiB, a database larger than the page cache", "[replica]") {
  const int page_size = GENERATE(1024, 65536);
  const std::string dir = scratch_dir("page-size-" + std::to_string(page_size));
  auto primary = blob_primary(dir, 1500, 1500, "&page_size=" + std::to_string(page_size));
  primary->exec(
      "CREATE INDEX t_v ON t(substr(v, 1, 8)); UPDATE t SET v = randomblob(900) "
      "WHERE id % 7 = 0; DELETE FROM t WHERE id % 11 = 0");
  REQUIRE(primary->query_int("PRAGMA page_size") == page_size);
  Db r(replica_uri(dir, local_replica(dir), "&cache_mb=1&poll_ms=50"), SQLITE_OPEN_READONLY);
  r.exec("PRAGMA cache_size = 4");  // SQLite's own cache tiny too: every read goes to the VFS
  CHECK(r.query_int("PRAGMA page_size") == page_size);
  for (const char* sql : {"SELECT id, length(v), hex(substr(v, 1, 16)) FROM t ORDER BY id",
                          "SELECT count(*), sum(length(v)) FROM t WHERE substr(v, 1, 8) > x'80'",
                          "PRAGMA integrity_check"}) {
    INFO(sql);
    CHECK(dump(r, sql) == dump(*primary, sql));
  }
  const auto stats = replica_stats(r);
  CHECK(stats["page_size"] == page_size);
  // ~2.3 MB of pages through a 1 MiB cache.
  CHECK(stats["cache"]["evictions"].get<uint64_t>() > 0);
  CHECK(stats["cache"]["bytes"].get<uint64_t>() <= (1u << 20) + static_cast<uint64_t>(page_size));
}

TEST_CASE("writing to a replica fails with SQLITE_READONLY and reads go on", "[replica]") {
  const std::string dir = scratch_dir("readonly");
  auto primary = blob_primary(dir, 10, 10);
  Db r(replica_uri(dir, local_replica(dir), "&poll_ms=10"), SQLITE_OPEN_READONLY);
  for (const char* sql : {"INSERT INTO t VALUES (100, x'00')", "CREATE TABLE u(x)",
                          "BEGIN IMMEDIATE", "DELETE FROM t", "PRAGMA user_version = 3"}) {
    INFO(sql);
    const auto result = exec_code(r, sql);
    CHECK((result.code & 0xff) == SQLITE_READONLY);
  }
  CHECK(r.query_int("SELECT count(*) FROM t") == 10);
  CHECK(r.query_text("PRAGMA journal_mode") == "delete");  // rollback mode: no WAL, no shm
  CHECK_FALSE(fs::exists(dir + "/cache.db-wal"));
  CHECK_FALSE(fs::exists(dir + "/cache.db-shm"));
  // Without locks (nolock, immutable) the first read pins one snapshot for the connection.
  for (const char* flag : {"&nolock=1", "&immutable=1"}) {
    Db unlocked(replica_uri(dir, local_replica(dir), flag, "unlocked.db"), SQLITE_OPEN_READONLY);
    CHECK(unlocked.query_int("SELECT count(*) FROM t") == 10);
    primary->exec("INSERT INTO t VALUES (NULL, x'01')");
    wait_uploaded(*primary);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(unlocked.query_int("SELECT count(*) FROM t") == 10);
    primary->exec("DELETE FROM t WHERE id > 10");
    wait_uploaded(*primary);
  }
}

TEST_CASE("a write through the shell names the replica", "[replica][shell]") {
  const std::string dir = scratch_dir("readonly-shell");
  auto primary = blob_primary(dir, 10, 10);
  std::string out;
  const int rc = run_sqlite3_shell(".open " + replica_uri(dir, local_replica(dir)) +
                                       "\nSELECT count(*) FROM t;\nINSERT INTO t "
                                       "VALUES (100, x'00');",
                                   &out);
  CHECK(rc != 0);
  CHECK_THAT(out, Catch::Contains("10"));
  CHECK_THAT(out, Catch::Contains("read replica") && Catch::Contains("readonly"));
}

TEST_CASE("bad replica opens are refused", "[replica]") {
  const std::string dir = scratch_dir("bad-open");
  auto primary = blob_primary(dir, 10, 10);
  auto open_error = [&](const std::string& uri) {
    try {
      Db db(uri, SQLITE_OPEN_READONLY);
      db.query_int("SELECT count(*) FROM sqlite_schema");
      return std::string();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  };
  CHECK(open_error(replica_uri(dir, local_replica(dir))).empty());
  CHECK_FALSE(open_error(replica_uri(dir, local_replica(dir), "&bogus=1")).empty());
  CHECK_FALSE(open_error(replica_uri(dir, local_replica(dir), "&durability=remote")).empty());
  CHECK_FALSE(open_error(replica_uri(dir, local_replica(dir), "&txid=1&time=latest")).empty());
  CHECK_FALSE(open_error(replica_uri(dir, dir + "/no-such-replica")).empty());
  fs::create_directories(dir + "/empty");
  // An empty location opens as the empty database (follow_test.cpp); a TXID in it does not.
  CHECK(open_error(replica_uri(dir, dir + "/empty")).empty());
  CHECK_FALSE(open_error(replica_uri(dir, dir + "/empty", "&txid=1")).empty());
  CHECK_FALSE(open_error(replica_uri(dir, local_replica(dir), "&txid=999")).empty());
  // ltx_wait outside a replica explains itself.
  CHECK_THAT(primary->try_exec("SELECT ltx_wait(1, 10)"), Catch::Contains("not a read replica"));
}

TEST_CASE("bad replica opens: the shell shows why", "[replica][shell]") {
  const std::string dir = scratch_dir("bad-open-shell");
  fs::create_directories(dir + "/empty");
  std::string out;
  run_sqlite3_shell(
      ".open " + replica_uri(dir, dir + "/empty", "&bogus=1") + "\nSELECT 1 FROM sqlite_schema;",
      &out);
  CHECK_THAT(out, Catch::Contains("unknown URI parameter 'bogus'"));
  run_sqlite3_shell(
      ".open " + replica_uri(dir, dir + "/empty", "&txid=1") + "\nSELECT 1 FROM sqlite_schema;",
      &out);
  CHECK_THAT(out, Catch::Contains("holds no LTX files"));
}

TEST_CASE("hydrate=1 downloads the database and then serves it locally", "[replica]") {
  const std::string dir = scratch_dir("hydrate");
  auto primary = primary_from_sample("Chinook_Sqlite.sqlite", dir, "&durability=remote");
  const std::string uri = replica_uri(dir, local_replica(dir), "&hydrate=1&poll_ms=20", "local.db");
  Db r(uri, SQLITE_OPEN_READONLY);
  REQUIRE(wait_for([&] { return replica_stats(r)["hydration"]["state"] == "done"; }, 20000));
  const std::string q =
      "SELECT g.Name, count(*), sum(t.Bytes) FROM Track t JOIN Genre g USING (GenreId) GROUP BY "
      "g.GenreId ORDER BY 1";
  const auto before = replica_stats(r);
  CHECK(dump(r, q) == dump(*primary, q));
  const auto after = replica_stats(r);
  CHECK(after["fetch"]["requests"] == before["fetch"]["requests"]);  // served locally
  CHECK(after["hydration"]["local_reads"].get<uint64_t>() > 0);
  {
    // The hydrated file is a plain SQLite database.
    Db plain("file:" + dir + "/local.db?mode=ro", SQLITE_OPEN_READONLY);
    CHECK(plain.query_text("PRAGMA integrity_check") == "ok");
    CHECK(dump(plain, q) == dump(*primary, q));
  }
  // The primary moves on: the replica follows, correct at once, and the local file catches up.
  primary->exec("UPDATE Track SET Bytes = Bytes + 1 WHERE GenreId = 1; DELETE FROM PlaylistTrack");
  const auto txid = primary->query_int("SELECT ltx_txid()");
  CHECK(r.query_int("SELECT ltx_wait(" + std::to_string(txid) + ", 10000)") >= txid);
  CHECK(dump(r, q) == dump(*primary, q));
  CHECK(r.query_int("SELECT count(*) FROM PlaylistTrack") == 0);
  CHECK(wait_for([&] { return replica_stats(r)["hydration"]["txid"] == txid; }, 10000));
  CHECK(dump(r, q) == dump(*primary, q));
  // Another file in the way is never overwritten.
  fs::copy_file(LTXVFS_TEST_DATA_DIR "/Northwind_small.sqlite", dir + "/precious.db");
  CHECK_THROWS(
      Db(replica_uri(dir, local_replica(dir), "&hydrate=1", "precious.db"), SQLITE_OPEN_READONLY)
          .query_int("SELECT 1 FROM sqlite_schema"));
  CHECK(fs::file_size(dir + "/precious.db") ==
        fs::file_size(LTXVFS_TEST_DATA_DIR "/Northwind_small.sqlite"));
}

TEST_CASE("connections to one replica location share its index and page caches, not positions",
          "[replica]") {
  const std::string dir = scratch_dir("shared-location");
  auto primary = blob_primary(dir, 2000, 1000);  // TXID 1 creates the table, TXID 2 fills it
  const std::string uri = replica_uri(dir, local_replica(dir));

  Db a(uri, SQLITE_OPEN_READONLY);
  CHECK(dump(a, "SELECT count(*), sum(length(v)) FROM t") == "2000|2000000\n");
  const auto after_a = replica_stats(a);
  REQUIRE(after_a["fetch"]["requests"].get<uint64_t>() > 0);

  // A second connection: no index tail fetched again, and every page is a hit of the shared
  // cache (its own fetcher sends nothing).
  Db b(uri, SQLITE_OPEN_READONLY);
  CHECK(dump(b, "SELECT count(*), sum(length(v)) FROM t") == "2000|2000000\n");
  const auto after_b = replica_stats(b);
  INFO("a: " << after_a.dump() << "\nb: " << after_b.dump());
  CHECK(after_b["index"]["tails_fetched"] == after_a["index"]["tails_fetched"]);
  CHECK(after_b["fetch"]["requests"] == 0);
  // The store's counters are the location's: b's open and scan added its LIST and at most the
  // GET of head.json, no tail and no page.
  CHECK(after_b["store"]["lists"].get<uint64_t>() == after_a["store"]["lists"].get<uint64_t>() + 1);
  CHECK(after_b["store"]["gets"].get<uint64_t>() <= after_a["store"]["gets"].get<uint64_t>() + 1);
  CHECK(after_b["cache"]["hits"].get<uint64_t>() > after_a["cache"]["hits"].get<uint64_t>());

  // Positions stay each connection's own: b travels back to the TXID both saw while a follows
  // the primary's next commit.
  const uint64_t seen = after_b["txid"];
  primary->exec("INSERT INTO t VALUES (2001, randomblob(10))");
  wait_uploaded(*primary);
  CHECK(b.query_text("PRAGMA ltx_txid = " + std::to_string(seen)) == std::to_string(seen));
  CHECK(wait_for([&] { return a.query_int("SELECT count(*) FROM t") == 2001; }, 20'000));
  CHECK(b.query_int("SELECT count(*) FROM t") == 2000);
}

TEST_CASE("a replica location's caches go with its last connection", "[replica]") {
  const std::string dir = scratch_dir("location-lifetime");
  auto primary = blob_primary(dir, 200, 1000);
  const std::string uri = replica_uri(dir, local_replica(dir));
  uint64_t tails = 0;
  {
    Db a(uri, SQLITE_OPEN_READONLY);
    CHECK(a.query_int("SELECT count(*) FROM t") == 200);
    tails = replica_stats(a)["index"]["tails_fetched"];
    REQUIRE(tails > 0);
  }
  // Closed: a new connection starts from empty caches (and fresh counters).
  Db c(uri, SQLITE_OPEN_READONLY);
  CHECK(c.query_int("SELECT count(*) FROM t") == 200);
  CHECK(replica_stats(c)["index"]["tails_fetched"] == tails);
}
