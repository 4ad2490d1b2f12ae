// A replica following a live primary: every read transaction sees exactly one TXID, never a
// torn state; the replica catches up (ltx_wait); time travel reproduces historical TXIDs byte
// for byte; an object deleted under a pinned snapshot gives a distinct, retriable error.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "history/restore_plan.h"
#include "ltx/compactor.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "storage/file_store.h"
#include "storage/replica_layout.h"
#include "tests/harness/s3_test_server.h"
#include "tests/replica/replica_support.h"

using namespace ltxvfs::testing;
namespace fs = std::filesystem;

namespace {

std::string local_replica(const std::string& dir) {
  return dir + "/app.db-ltx/replica";
}

}  // namespace

TEST_CASE("readers see one consistent TXID per transaction while the primary commits",
          "[replica]") {
  const std::string dir = scratch_dir("follow-consistency");
  Db primary("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0");
  primary.exec(
      "CREATE TABLE acct(id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, pad BLOB);"
      "CREATE TABLE log(seq INTEGER PRIMARY KEY, note BLOB);"
      "CREATE TABLE meta(k INTEGER PRIMARY KEY, n INTEGER, bytes INTEGER);"
      "INSERT INTO meta VALUES (1, 0, 0);"
      "WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < 300) "
      "INSERT INTO acct SELECT x, 100, 100, randomblob(300) FROM i");
  const auto start_txid = wait_uploaded(primary);

  std::atomic<bool> done{false};
  std::mutex errors_mu;
  std::vector<std::string> errors;
  auto fail = [&](const std::string& what) {
    std::lock_guard lock(errors_mu);
    errors.push_back(what);
  };
  std::atomic<int> transactions{0};
  std::atomic<int64_t> max_txid_seen{0};

  auto reader = [&](int id) {
    try {
      Db replica(replica_uri(dir, local_replica(dir), "&poll_ms=20&cache_mb=1",
                             "cache" + std::to_string(id) + ".db"),
                 SQLITE_OPEN_READONLY);
      replica.exec("PRAGMA cache_size = 20");
      const std::string q =
          "SELECT (SELECT sum(a) FROM acct), (SELECT sum(b) FROM acct), "
          "(SELECT count(*) FROM log), (SELECT coalesce(sum(length(note)), 0) FROM log), "
          "(SELECT n FROM meta), (SELECT bytes FROM meta)";
      while (!done) {
        replica.exec("BEGIN");
        const std::string first = dump(replica, q);
        const auto txid = replica.query_int("PRAGMA ltx_txid");
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
        const std::string again = dump(replica, q);
        const auto txid_again = replica.query_int("PRAGMA ltx_txid");
        replica.exec("COMMIT");
        if (first != again || txid != txid_again) {
          fail("one transaction saw two states: " + first + " / " + again);
        }
        int64_t sa, sb, count, bytes, n, nbytes;
        if (std::sscanf(first.c_str(), "%ld|%ld|%ld|%ld|%ld|%ld", &sa, &sb, &count, &bytes, &n,
                        &nbytes) != 6) {
          fail("unexpected row: " + first);
        } else if (sa != sb || count != n || bytes != nbytes) {
          fail("torn state at TXID " + std::to_string(txid) + ": " + first);
        }
        int64_t seen = max_txid_seen.load();
        while (txid > seen && !max_txid_seen.compare_exchange_weak(seen, txid)) {
        }
        ++transactions;
      }
    } catch (const std::exception& e) {
      fail(std::string("reader ") + std::to_string(id) + ": " + e.what());
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);

  std::mt19937 rng(7);
  for (int i = 0; i < 120; ++i) {
    const int x = static_cast<int>(rng() % 300) + 1, y = static_cast<int>(rng() % 300) + 1;
    const int d = static_cast<int>(rng() % 50) - 25;
    std::string sql =
        "BEGIN;"
        "UPDATE acct SET a = a + " +
        std::to_string(d) + " WHERE id = " + std::to_string(x) + ";" + "UPDATE acct SET b = b + " +
        std::to_string(d) + " WHERE id = " + std::to_string(y) + ";" +
        "INSERT INTO log(note) VALUES (randomblob(" + std::to_string(rng() % 6000) + "));";
    if (i % 10 == 9) sql += "DELETE FROM log WHERE seq % 3 = " + std::to_string(rng() % 3) + ";";
    if (i % 40 == 39)
      sql += "UPDATE acct SET pad = randomblob(" + std::to_string(rng() % 900) + ");";
    sql +=
        "UPDATE meta SET n = (SELECT count(*) FROM log), "
        "bytes = (SELECT coalesce(sum(length(note)), 0) FROM log); COMMIT";
    primary.exec(sql);
    if (i % 30 == 29) primary.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 8));
  }
  const auto last = primary.query_int("SELECT ltx_txid()");
  REQUIRE(last >= start_txid + 120);

  // Read-your-writes: the replica reaches the primary's last TXID and shows exactly its state.
  Db follower(replica_uri(dir, local_replica(dir), "&poll_ms=20", "follower.db"),
              SQLITE_OPEN_READONLY);
  CHECK(follower.query_int("SELECT ltx_wait(" + std::to_string(last) + ", 20000)") >= last);
  for (const char* sql :
       {"SELECT * FROM acct ORDER BY id", "SELECT seq, hex(note) FROM log", "SELECT * FROM meta"}) {
    CHECK(dump(follower, sql) == dump(primary, sql));
  }
  // Let the readers see the end too.
  for (int i = 0; i < 500 && max_txid_seen.load() < last; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  done = true;
  r1.join();
  r2.join();
  for (const auto& e : errors) FAIL_CHECK(e);
  CHECK(errors.empty());
  CHECK(transactions.load() > 20);
  CHECK(max_txid_seen.load() == last);
  const auto stats = replica_stats(follower);
  CHECK(stats["txid"].get<int64_t>() >= last);
}

TEST_CASE("time travel reproduces the primary at historical TXIDs", "[replica]") {
  const std::string dir = scratch_dir("time-travel");
  Db primary("file:" + dir + "/app.db?vfs=ltx&durability=remote&upload_interval_ms=0");
  primary.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t(v)");
  std::map<int64_t, std::vector<uint8_t>> images;
  std::map<int64_t, std::string> contents;
  std::mt19937 rng(3);
  for (int i = 0; i < 10; ++i) {
    if (i == 6) {
      primary.exec("DELETE FROM t WHERE k % 2 = 0; VACUUM");  // shrinks the database
    } else {
      primary.exec("INSERT INTO t(v) SELECT randomblob(" + std::to_string(rng() % 3000) +
                   ") FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)");
    }
    const auto txid = primary.query_int("SELECT ltx_txid()");
    images[txid] = primary.serialize();
    contents[txid] = dump(primary, "SELECT k, hex(v) FROM t ORDER BY k");
    std::this_thread::sleep_for(std::chrono::milliseconds(4));  // distinct commit times
  }
  REQUIRE(images.size() == 10);

  // Open at a TXID (URI), byte for byte but for page 1's version fields.
  for (int64_t txid : {images.begin()->first, std::next(images.begin(), 6)->first}) {
    Db at(replica_uri(dir, local_replica(dir), "&txid=" + std::to_string(txid),
                      "at" + std::to_string(txid) + ".db"),
          SQLITE_OPEN_READONLY);
    CHECK(at.query_int("PRAGMA ltx_txid") == txid);
    CHECK(comparable_image(at.serialize()) == comparable_image(images[txid]));
  }

  // Move one connection around with the pragmas.
  Db r(replica_uri(dir, local_replica(dir)), SQLITE_OPEN_READONLY);
  const auto newest = images.rbegin()->first;
  CHECK(r.query_int("PRAGMA ltx_txid") == newest);
  for (const auto& [txid, image] : images) {
    CHECK(r.query_text("PRAGMA ltx_txid = " + std::to_string(txid)) == std::to_string(txid));
    CHECK(dump(r, "SELECT k, hex(v) FROM t ORDER BY k") == contents[txid]);
    CHECK(comparable_image(r.serialize()) == comparable_image(image));
  }
  // By time: the commit time of a TXID leads back to that TXID.
  const int64_t mid = std::next(images.begin(), 4)->first;
  r.exec("PRAGMA ltx_txid = " + std::to_string(mid));
  const std::string when = r.query_text("PRAGMA ltx_time");
  CHECK(r.query_text("PRAGMA ltx_time = 'latest'") != when);
  CHECK(r.query_int("PRAGMA ltx_txid") == newest);
  r.exec("PRAGMA ltx_time = '" + when + "'");
  CHECK(r.query_int("PRAGMA ltx_txid") == mid);
  CHECK(dump(r, "SELECT k, hex(v) FROM t ORDER BY k") == contents[mid]);
  {
    Db by_time(replica_uri(dir, local_replica(dir), "&time=" + when, "bytime.db"),
               SQLITE_OPEN_READONLY);
    CHECK(by_time.query_int("PRAGMA ltx_txid") == mid);
  }
  // A transaction in progress keeps its snapshot; the next one sees the move.
  r.exec("BEGIN");
  CHECK(dump(r, "SELECT count(*) FROM t") == dump(r, "SELECT count(*) FROM t"));
  const std::string inside = dump(r, "SELECT k, hex(v) FROM t ORDER BY k");
  r.exec("PRAGMA ltx_time = 'latest'");
  CHECK(dump(r, "SELECT k, hex(v) FROM t ORDER BY k") == inside);
  r.exec("COMMIT");
  CHECK(dump(r, "SELECT k, hex(v) FROM t ORDER BY k") == contents[newest]);
  // Bad targets: clear errors, position unchanged.
  CHECK_THAT(r.try_exec("PRAGMA ltx_time = '500 weeks ago'"), Catch::Contains("newer"));
  CHECK_THAT(r.try_exec("PRAGMA ltx_time = 'tomorrowish'"), Catch::Contains("RFC 3339"));
  CHECK_THAT(r.try_exec("PRAGMA ltx_txid = 99999"), Catch::Contains("cannot be reached"));
  CHECK_THAT(r.try_exec("PRAGMA ltx_txid = -3"), Catch::Contains("expected a TXID"));
  CHECK(r.query_int("PRAGMA ltx_txid") == newest);
  // Held in the past, ltx_wait says so instead of waiting.
  r.exec("PRAGMA ltx_txid = " + std::to_string(mid));
  CHECK_THAT(r.try_exec("SELECT ltx_wait(" + std::to_string(newest) + ", 100)"),
             Catch::Contains("held at"));
}

TEST_CASE("an object deleted under a pinned snapshot: a retriable error, never wrong data",
          "[replica]") {
  const std::string dir = scratch_dir("lost-object");
  // The test compacts by hand below; the writer's own history engine stays out of its way (left
  // on, it may compact level 0 at any time: its first run and every 30 s boundary).
  Db primary("file:" + dir +
             "/app.db?vfs=ltx&durability=remote&upload_interval_ms=0&levels=off&snapshot_interval="
             "off&retention=off");
  primary.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
  for (int i = 0; i < 5; ++i) {
    primary.exec(
        "INSERT INTO t(v) SELECT randomblob(2000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION "
        "ALL SELECT i + 1 FROM n WHERE i < 40) SELECT i FROM n)");
  }
  const auto txid = static_cast<uint64_t>(primary.query_int("SELECT ltx_txid()"));
  const std::string expected = dump(primary, "SELECT count(*), sum(length(v)), max(k) FROM t");

  Db r(replica_uri(dir, local_replica(dir), "&prefetch=0"), SQLITE_OPEN_READONLY);
  r.exec("BEGIN");
  CHECK(r.query_int("SELECT length(v) FROM t WHERE k = 1") == 2000);

  // Compaction: every file so far becomes one level-9 snapshot, the level-0 files are deleted.
  ltxvfs::storage::FileStore store(local_replica(dir));
  const auto files =
      ltxvfs::history::list_ltx_files(store, ltxvfs::storage::LayoutStyle::kDirectory);
  REQUIRE(files.back().max_txid == txid);
  std::vector<std::vector<uint8_t>> bodies;
  for (const auto& f : files) bodies.push_back(store.get(f.key).body);
  std::vector<ltxvfs::ltx::MemorySource> sources;
  for (const auto& b : bodies) sources.emplace_back(b);
  std::vector<ltxvfs::ltx::NamedSource> inputs;
  for (size_t i = 0; i < files.size(); ++i) inputs.push_back({&sources[i], files[i].key});
  ltxvfs::ltx::VectorSink sink;
  ltxvfs::ltx::compact(inputs, sink, ltxvfs::ltx::EncodeOptions::native());
  store.put(ltxvfs::storage::ltx_key(ltxvfs::storage::LayoutStyle::kDirectory, 9, 1, txid),
            sink.bytes());
  std::vector<std::string> keys;
  for (const auto& f : files) keys.push_back(f.key);
  store.remove(keys);

  // The pinned snapshot needs pages from deleted objects: SQLITE_BUSY_SNAPSHOT, not a result.
  const auto failed = exec_code(r, "SELECT count(*), sum(length(v)), max(k) FROM t");
  CHECK(failed.code == SQLITE_BUSY_SNAPSHOT);
  r.try_exec("ROLLBACK");
  // The next transaction runs on a re-planned snapshot (the compacted file) and is right.
  CHECK(dump(r, "SELECT count(*), sum(length(v)), max(k) FROM t") == expected);
  const auto stats = replica_stats(r);
  CHECK(stats["lost_reads"].get<uint64_t>() >= 1);
  CHECK(stats["replans"].get<uint64_t>() >= 1);
  CHECK(stats["objects"].get<uint64_t>() == 1);
  CHECK(stats["txid"].get<uint64_t>() == txid);
}

TEST_CASE("an S3 replica follows the primary and travels back in time", "[moto]") {
  const auto bucket = make_test_bucket(Server::kMoto);
  const std::string dir = scratch_dir("follow-s3");
  const std::string url = "s3://" + bucket.bucket + "/app";
  Db primary("file:" + dir + "/app.db?vfs=ltx&durability=remote&upload_interval_ms=0&replica=" +
             url + "&endpoint=" + bucket.endpoint);
  primary.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
  std::map<int64_t, std::string> contents;
  for (int i = 0; i < 5; ++i) {
    primary.exec("INSERT INTO t(v) VALUES ('row " + std::to_string(i) + "')");
    contents[primary.query_int("SELECT ltx_txid()")] = dump(primary, "SELECT * FROM t");
  }
  Db r(replica_uri(dir, url, "&endpoint=" + bucket.endpoint + "&poll_ms=50"), SQLITE_OPEN_READONLY);
  CHECK(dump(r, "SELECT * FROM t") == contents.rbegin()->second);
  const int64_t old = std::next(contents.begin(), 2)->first;
  r.exec("PRAGMA ltx_txid = " + std::to_string(old));
  CHECK(dump(r, "SELECT * FROM t") == contents[old]);
  r.exec("PRAGMA ltx_time = 'latest'");
  for (int i = 0; i < 3; ++i) primary.exec("UPDATE t SET v = v || '+' WHERE k % 2 = 1");
  const auto txid = primary.query_int("SELECT ltx_txid()");
  CHECK(r.query_int("SELECT ltx_wait(" + std::to_string(txid) + ", 10000)") >= txid);
  CHECK(dump(r, "SELECT * FROM t") == dump(primary, "SELECT * FROM t"));
  const auto stats = replica_stats(r);
  CHECK(stats["store"]["lists"].get<uint64_t>() >= 2);
  CHECK(stats["replica"] == "s3://" + bucket.bucket + "/app");
}

TEST_CASE("a replica opened before its primary wrote anything follows it from the empty database",
          "[replica]") {
  const std::string dir = scratch_dir("follow-before-primary");
  fs::create_directories(local_replica(dir));  // deployed first: an empty replica location
  Db replica(replica_uri(dir, local_replica(dir), "&poll_ms=20"), SQLITE_OPEN_READONLY);
  CHECK(replica.query_int("SELECT count(*) FROM sqlite_schema") == 0);
  CHECK(replica.query_int("PRAGMA ltx_txid") == 0);
  CHECK_THAT(replica.try_exec("SELECT * FROM t"), Catch::Contains("no such table"));
  // A TXID of an empty location is no state: still refused (requests_test.cpp: the message).
  CHECK_THROWS(Db(replica_uri(dir, local_replica(dir), "&txid=1", "at1.db"), SQLITE_OPEN_READONLY)
                   .query_int("SELECT count(*) FROM sqlite_schema"));

  // The primary's database has another page size than the empty database's default (4096).
  {
    Db plain("file:" + dir + "/app.db");
    plain.exec("PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; CREATE TABLE t(x)");
  }
  Db primary("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0");
  primary.exec("INSERT INTO t VALUES (1)");
  const auto first = wait_uploaded(primary);
  CHECK(replica.query_int("SELECT ltx_wait(" + std::to_string(first) + ", 20000)") >= first);
  CHECK(replica.query_int("SELECT count(*) FROM t") == 1);
  CHECK(replica.query_int("PRAGMA page_size") == 8192);
  primary.exec("INSERT INTO t VALUES (2)");
  const auto second = wait_uploaded(primary);
  CHECK(replica.query_int("SELECT ltx_wait(" + std::to_string(second) + ", 20000)") >= second);
  CHECK(replica.query_int("SELECT sum(x) FROM t") == 3);
  CHECK(replica.query_text("PRAGMA integrity_check") == "ok");
}
