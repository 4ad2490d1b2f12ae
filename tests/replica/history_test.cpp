// Replicas over a history the writer compacts, snapshots and prunes (history_engine.h), at a fast
// pace: readers in long transactions never see wrong data (at worst a retriable
// SQLITE_BUSY_SNAPSHOT when retention deleted what their snapshot used), and opening a replica
// costs a bounded number of requests however long the history is.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "tests/replica/replica_support.h"

using namespace ltxvfs::testing;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Compactions every 100 ms / 300 ms / 1 s, a snapshot every 2 s, 3 s of retention, and files
// nothing needs any more deleted 300 ms after they were superseded.
constexpr const char* kFastHistory =
    "&levels=100ms,300ms,1s&snapshot_interval=2s&retention=3s&retention_grace=300ms";

bool is_busy_snapshot(const std::string& message) {
  return message.find("database is locked") != std::string::npos ||
         message.find("snapshot") != std::string::npos;
}

}  // namespace

TEST_CASE("long read transactions on a replica while compaction and retention run underneath",
          "[replica]") {
  const std::string dir = scratch_dir("history-readers");
  const std::string replica = dir + "/app.db-ltx/replica";
  Db primary("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0" + std::string(kFastHistory));
  primary.exec(
      "CREATE TABLE acct(id INTEGER PRIMARY KEY, balance INTEGER, pad BLOB);"
      "WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < 200) "
      "INSERT INTO acct SELECT x, 1000, randomblob(500) FROM i");
  wait_uploaded(primary);

  std::atomic<bool> done{false};
  std::mutex errors_mu;
  std::vector<std::string> errors;
  std::atomic<int> transactions{0}, retried{0};
  auto reader = [&](int id) {
    try {
      Db db(replica_uri(dir, replica, "&poll_ms=20&cache_mb=1", "r" + std::to_string(id) + ".db"),
            SQLITE_OPEN_READONLY);
      db.exec("PRAGMA cache_size = 10");
      std::mt19937 rng(static_cast<unsigned>(id));
      while (!done) {
        std::string first, again;
        const std::string error = [&]() -> std::string {
          if (auto e = db.try_exec("BEGIN"); !e.empty()) return e;
          try {
            first = dump(db, "SELECT sum(balance), count(*), sum(length(pad)) FROM acct");
            // A long transaction: retention may delete what its snapshot reads meanwhile.
            std::this_thread::sleep_for(milliseconds(100 + rng() % 400));
            again = dump(db, "SELECT sum(balance), count(*), sum(length(pad)) FROM acct");
          } catch (const std::exception& e) {
            db.try_exec("ROLLBACK");
            return e.what();
          }
          return db.try_exec("COMMIT");
        }();
        if (!error.empty()) {
          if (is_busy_snapshot(error)) {
            ++retried;  // the documented, retriable outcome
            continue;
          }
          std::lock_guard lock(errors_mu);
          errors.push_back("reader " + std::to_string(id) + ": " + error);
          return;
        }
        if (first != again || first.rfind("200000|200|100000", 0) != 0) {
          std::lock_guard lock(errors_mu);
          errors.push_back("reader " + std::to_string(id) + " saw " + first + " then " + again);
        }
        ++transactions;
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(errors_mu);
      errors.push_back("reader " + std::to_string(id) + " failed: " + e.what());
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);

  // Money moves between accounts (the sum stays), pads are rewritten: for about 6 s.
  std::mt19937 rng(11);
  const auto until = Clock::now() + std::chrono::seconds(6);
  int commits = 0;
  while (Clock::now() < until) {
    const int a = static_cast<int>(rng() % 200) + 1, b = static_cast<int>(rng() % 200) + 1;
    const int d = static_cast<int>(rng() % 100);
    primary.exec("BEGIN; UPDATE acct SET balance = balance - " + std::to_string(d) +
                 " WHERE id = " + std::to_string(a) + "; UPDATE acct SET balance = balance + " +
                 std::to_string(d) + " WHERE id = " + std::to_string(b) +
                 "; UPDATE acct SET pad = randomblob(500) WHERE id = " +
                 std::to_string(rng() % 200 + 1) + "; COMMIT");
    ++commits;
    std::this_thread::sleep_for(milliseconds(5));
  }
  const int64_t last = wait_uploaded(primary);
  // The follower reaches the end and shows exactly the primary's state.
  Db follower(replica_uri(dir, replica, "&poll_ms=20", "follower.db"), SQLITE_OPEN_READONLY);
  CHECK(follower.query_int("SELECT ltx_wait(" + std::to_string(last) + ", 20000)") >= last);
  CHECK(dump(follower, "SELECT * FROM acct ORDER BY id") ==
        dump(primary, "SELECT * FROM acct ORDER BY id"));
  done = true;
  r1.join();
  r2.join();
  for (const auto& e : errors) FAIL_CHECK(e);
  INFO(commits << " commits, " << transactions.load() << " read transactions, " << retried.load()
               << " retried");
  CHECK(transactions.load() > 10);
  // The history engine really worked underneath the readers.
  const auto stats = nlohmann::json::parse(primary.query_text("SELECT ltx_stats()"));
  INFO(stats.dump());
  CHECK(stats["compactions"].get<uint64_t>() > 0);
  CHECK(stats["snapshots"].get<uint64_t>() > 0);
  CHECK(stats["deleted_files"].get<uint64_t>() > 0);
  CHECK(stats["history_error"] == "");
}

TEST_CASE("opening a replica costs a bounded number of requests however long the history",
          "[replica]") {
  // The same commits, one upload each, with the history engine and without it.
  auto open_requests = [](const std::string& name, const std::string& history, int commits) {
    const std::string dir = scratch_dir(name);
    const std::string replica = dir + "/app.db-ltx/replica";
    Db primary("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0" + history);
    primary.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
    for (int i = 0; i < commits; ++i) {
      primary.exec("INSERT INTO t(v) VALUES (randomblob(200))");
      wait_uploaded(primary);  // one object per commit: the longest history for the commits
    }
    // Let the last compactions and deletions happen.
    std::this_thread::sleep_for(milliseconds(history.empty() ? 0 : 2500));
    Db db(replica_uri(dir, replica), SQLITE_OPEN_READONLY);
    CHECK(db.query_int("SELECT count(*) FROM t") == commits);
    return replica_stats(db)["store"]["requests"].get<uint64_t>();
  };
  const uint64_t pruned = open_requests("open-cost-history", kFastHistory, 300);
  const uint64_t unpruned =
      open_requests("open-cost-no-history", "&levels=off&snapshot_interval=off&retention=off", 300);
  INFO("requests to open and read: " << pruned << " with the history engine, " << unpruned
                                     << " without");
  // Without it the open reads every upload's page index; with it a few files, whatever the
  // number of commits (the bound of docs/HISTORY.md with these intervals: 1 + 2 + 3 + 3 + one
  // interval's uploads + 4, plus the listing and the pages read).
  CHECK(unpruned > 300);
  CHECK(pruned < 60);
}
