// The write path against a real S3-compatible server (moto, started by the ctest fixture), and
// against the same server made unreachable for a while.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "history/restore_plan.h"
#include "storage/store_factory.h"
#include "tests/harness/s3_test_server.h"
#include "tests/support/tcp_proxy.h"
#include "tests/vfs/sqlite_support.h"

using namespace ltxvfs::testing;
using Clock = std::chrono::steady_clock;

TEST_CASE("every commit reaches S3 and restores byte-identically", "[moto]") {
  const auto bucket = make_test_bucket(Server::kMoto);
  const std::string dir = scratch_dir("s3-every-commit");
  const std::string url = bucket.url("app");
  Db db("file:" + dir + "/app.db?vfs=ltx&durability=remote&upload_interval_ms=0&replica=s3://" +
        bucket.bucket + "/app&endpoint=" + bucket.endpoint);
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
  for (int i = 0; i < 12; ++i) {
    db.exec("INSERT INTO t(v) VALUES (randomblob(" + std::to_string(100 + i * 700) + "))");
    const auto txid = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
    CHECK(describe_difference(restore_replica(url, txid, dir), db.serialize()) == "identical");
  }
  // Objects are plain S3 objects in Litestream's key layout.
  auto opened = ltxvfs::storage::open_store(url, bucket.settings);
  auto files = ltxvfs::history::list_ltx_files(*opened.store, opened.layout);
  // Level 0 holds the uploads. The history engine may add a level-1 compaction of them: its first
  // run (at open, or a second later when the lease was not yet held: a slow, sanitized build) and
  // every 30 s boundary of the wall clock compact whatever level 0 holds then.
  std::erase_if(files, [](const auto& f) { return f.level != 0; });
  const auto last = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  // durability=remote: each commit waited for its upload, so every insert went up on its own (the
  // initial snapshot and the CREATE TABLE may share the first object).
  REQUIRE(files.size() >= 12);
  CHECK(files.back().min_txid == last);
  CHECK_THAT(files.front().key, Catch::StartsWith("0000/0000000000000001-"));
  auto head = opened.store->get(files.back().key, ltxvfs::storage::ByteRange::at(0, 100));
  CHECK_FALSE(head.metadata["litestream-timestamp"].empty());
  const auto s = stats_of(db);
  CHECK(s["uploaded_txid"] == last);
  CHECK(s["store"]["puts"].get<uint64_t>() >= 13);
}

TEST_CASE("the store down for a while: commits continue, the spool drains, nothing is lost",
          "[moto]") {
  const auto bucket = make_test_bucket(Server::kMoto);
  TcpProxy proxy(port_of(bucket.endpoint));
  const std::string dir = scratch_dir("s3-outage");
  const std::string proxied = "http://127.0.0.1:" + std::to_string(proxy.port());
  Db db("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0&replica=s3://" + bucket.bucket +
        "/app&endpoint=" + proxied);
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
  db.exec("INSERT INTO t(v) VALUES ('before the outage')");
  const auto wait_uploaded = [&](uint64_t txid, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (stats_of(db)["uploaded_txid"].get<uint64_t>() >= txid) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  REQUIRE(wait_uploaded(static_cast<uint64_t>(db.query_int("SELECT ltx_txid()")),
                        std::chrono::seconds(20)));

  proxy.set_down(true);
  // The application keeps committing at full speed while the store is unreachable.
  const auto start = Clock::now();
  for (int i = 0; i < 40; ++i) {
    db.exec("INSERT INTO t(v) VALUES (randomblob(2000))");
  }
  const auto elapsed = Clock::now() - start;
  CHECK(elapsed < std::chrono::seconds(5));
  const uint64_t txid = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  // The failure becomes visible once the store's short retry budget is spent.
  nlohmann::json during;
  for (auto deadline = Clock::now() + std::chrono::seconds(20); Clock::now() < deadline;) {
    during = stats_of(db);
    if (during["upload_failures"].get<uint64_t>() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(during["upload_failures"].get<uint64_t>() > 0);
  CHECK_THAT(during["last_error"].get<std::string>(), Catch::Contains(bucket.bucket));
  CHECK(during["uploaded_txid"].get<uint64_t>() < txid);
  CHECK(during["spool_files"].get<uint64_t>() > 0);

  proxy.set_down(false);
  REQUIRE(wait_uploaded(txid, std::chrono::seconds(60)));
  auto after = stats_of(db);
  CHECK(after["spool_files"] == 0);
  CHECK(after["conflict"] == "");
  // Restore straight from the server (not through the proxy).
  CHECK(describe_difference(restore_replica(bucket.url("app"), txid, dir), db.serialize()) ==
        "identical");
}

TEST_CASE("an unreachable store at open does not hold the application", "[write]") {
  const std::string dir = scratch_dir("unreachable");
  // A closed loopback port: connection refused at once.
  TcpProxy proxy(1);
  proxy.set_down(true);
  const auto start = Clock::now();
  Db db("file:" + dir +
        "/app.db?vfs=ltx&replica=s3://nowhere-bucket/app&endpoint=http://"
        "127.0.0.1:" +
        std::to_string(proxy.port()));
  db.exec("CREATE TABLE t(v)");
  const int64_t before = db.query_int("SELECT ltx_txid()");
  db.exec("INSERT INTO t VALUES (1)");
  CHECK(Clock::now() - start < std::chrono::seconds(10));
  CHECK(db.query_int("SELECT ltx_txid()") == before + 1);  // commits went on, each a TXID
}

TEST_CASE("a full spool stops growing and the store gets the whole database when it is back",
          "[moto]") {
  const auto bucket = make_test_bucket(Server::kMoto);
  TcpProxy proxy(port_of(bucket.endpoint));
  const std::string dir = scratch_dir("s3-spool-limit");
  Db db("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0&spool_limit_mb=1&replica=s3://" +
        bucket.bucket + "/app&endpoint=http://127.0.0.1:" + std::to_string(proxy.port()));
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
  proxy.set_down(true);
  // ~4 MiB of transactions against a 1 MiB spool.
  for (int i = 0; i < 40; ++i) db.exec("INSERT INTO t(v) VALUES (randomblob(100000))");
  const uint64_t txid = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  auto during = stats_of(db);
  CHECK(during["spool_overflows"].get<uint64_t>() >= 1);
  // Bounded: the limit plus at most one transaction that crossed it.
  CHECK(during["spool_bytes"].get<uint64_t>() < (1u << 20) + 200000);

  proxy.set_down(false);
  db.exec("INSERT INTO t(v) VALUES ('the store is back')");
  // While the spool is full, commits get no TXID of their own; once it has drained, the whole
  // database goes up at the next TXID.
  bool done = false;
  uint64_t last = 0;
  for (auto deadline = Clock::now() + std::chrono::seconds(60); Clock::now() < deadline;) {
    auto s = stats_of(db);
    last = s["txid"].get<uint64_t>();
    if (last > txid && s["uploaded_txid"].get<uint64_t>() == last && s["spool_files"] == 0) {
      done = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(done);
  CHECK(stats_of(db)["full_files"].get<uint64_t>() >= 2);  // the initial snapshot and the bridge
  CHECK(describe_difference(restore_replica(bucket.url("app"), last, dir), db.serialize()) ==
        "identical");
  // And replication goes on one transaction at a time.
  db.exec("INSERT INTO t(v) VALUES ('after the bridge')");
  CHECK(static_cast<uint64_t>(db.query_int("SELECT ltx_txid()")) == last + 1);
}

// Cause: an upload pass went on while anything was durable, and under a high commit rate every
// checkpoint makes more durable; with a store that takes tens of milliseconds per request the
// uploads followed each other back to back (16 PUT/s at 20,000 tx/s). Now a pass uploads what
// was durable when it started; the rest waits for the next window.
TEST_CASE("a high commit rate still uploads about once per upload interval", "[moto]") {
  const auto bucket = make_test_bucket(Server::kMoto);
  TcpProxyOptions slow;
  slow.request_latency = std::chrono::milliseconds(20);
  TcpProxy proxy(port_of(bucket.endpoint), slow);
  const std::string dir = scratch_dir("s3-upload-rate");
  Db db("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=1000&replica=s3://" + bucket.bucket +
        "/app&endpoint=http://127.0.0.1:" + std::to_string(proxy.port()));
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
  // Checkpoints make the spool durable; frequent ones, as at 20,000 tx/s with the default.
  db.exec("PRAGMA wal_autocheckpoint=10");
  // Let the first upload (the initial snapshot) go, then commit 2000 times as fast as possible.
  // What is counted: uploads against the upload windows the run spanned (however long it took on
  // this machine) and against the checkpoints, each of which made more of the spool durable.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto stats_before = stats_of(db);
  const uint64_t before = stats_before["objects_uploaded"].get<uint64_t>();
  const uint64_t checkpoints_before = stats_before["checkpoint_waits"].get<uint64_t>();
  const auto start = Clock::now();
  const int commits = 2000;
  for (int i = 0; i < commits; ++i) db.exec("INSERT INTO t(v) VALUES (randomblob(100))");
  const auto windows =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() / 1000;
  const auto stats_after = stats_of(db);
  const uint64_t during = stats_after["objects_uploaded"].get<uint64_t>() - before;
  const uint64_t checkpoints = stats_after["checkpoint_waits"].get<uint64_t>() - checkpoints_before;
  INFO(commits << " commits over " << windows << " whole upload windows, " << checkpoints
               << " checkpoints, " << during << " objects uploaded meanwhile");
  CHECK(checkpoints >= 100);  // a checkpoint every ~10 commits: the case this test is about
  // One upload per window the run spanned, plus one in flight at either end; not one per
  // checkpoint.
  CHECK(during <= static_cast<uint64_t>(windows) + 3);
}

TEST_CASE("concurrent committers with remote durability share uploads (group commit)", "[moto]") {
  const auto bucket = make_test_bucket(Server::kMoto);
  const std::string dir = scratch_dir("s3-group-commit");
  const std::string uri = "file:" + dir + "/app.db?vfs=ltx&durability=remote&replica=s3://" +
                          bucket.bucket + "/app&endpoint=" + bucket.endpoint;
  {
    Db setup(uri);
    setup.exec("CREATE TABLE t(writer INTEGER, n INTEGER)");
  }
  const int writers = 8, commits = 15;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      try {
        Db db(uri);
        for (int i = 0; i < commits; ++i) {
          db.exec("INSERT INTO t VALUES (" + std::to_string(w) + ", " + std::to_string(i) + ")");
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  Db db(uri);
  CHECK(db.query_int("SELECT count(*) FROM t") == writers * commits);
  const auto s = stats_of(db);
  // Every commit returned only once uploaded, yet far fewer objects than commits went up.
  CHECK(s["uploaded_txid"].get<uint64_t>() == s["txid"].get<uint64_t>());
  auto opened = ltxvfs::storage::open_store(bucket.url("app"), bucket.settings);
  const auto objects = ltxvfs::history::list_ltx_files(*opened.store, opened.layout).size();
  INFO("objects: " << objects << " for " << writers * commits + 1 << " transactions");
  CHECK(objects < static_cast<size_t>(writers * commits));
  CHECK(describe_difference(restore_replica(bucket.url("app"), std::nullopt, dir),
                            db.serialize()) == "identical");
}
