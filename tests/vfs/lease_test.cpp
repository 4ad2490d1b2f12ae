// The writer lease (lock.json on the store): one writer per replica location, between processes
// and machines, with real processes started at the same moment; a deploy that starts the new
// process before the old one closes; a writer whose lease was taken over stops uploading.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "history/committed_history.h"
#include "history/head_record.h"
#include "history/restore_plan.h"
#include "history/writer_lease.h"
#include "storage/store_factory.h"
#include "tests/harness/s3_test_server.h"
#include "tests/support/tcp_proxy.h"
#include "tests/vfs/sqlite_support.h"

using namespace ltxvfs::testing;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct Outcome {
  int rc = -1;
  std::string out, err;
};

int64_t wall_ms_from_now(milliseconds delay) {
  return std::chrono::duration_cast<milliseconds>(
             (std::chrono::system_clock::now() + delay).time_since_epoch())
      .count();
}

std::string text_of(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  return {bytes.begin(), bytes.end()};
}

// Runs lease_writer for each database at once (all opening at `start_at_ms`) and waits for all.
std::vector<Outcome> run_writers(const std::string& dir, const std::vector<std::string>& dbs,
                                 const std::string& url, int commits, int hold_ms,
                                 const std::string& extra, int64_t start_at_ms) {
  std::string command;
  for (size_t i = 0; i < dbs.size(); ++i) {
    const std::string base = dir + "/w" + std::to_string(i);
    command += "(" LTXVFS_LEASE_WRITER_PATH " '" + dbs[i] + "' '" + url + "' " +
               std::to_string(start_at_ms) + " " + std::to_string(commits) + " " +
               std::to_string(hold_ms) + " '" + extra + "' >" + base + ".out 2>" + base +
               ".err; echo $? >" + base + ".rc) & ";
  }
  command += "wait";
  REQUIRE(run_command(command) == 0);
  std::vector<Outcome> outcomes;
  for (size_t i = 0; i < dbs.size(); ++i) {
    const std::string base = dir + "/w" + std::to_string(i);
    Outcome o;
    o.rc = std::stoi(text_of(base + ".rc"));
    o.out = text_of(base + ".out");
    o.err = text_of(base + ".err");
    outcomes.push_back(std::move(o));
  }
  return outcomes;
}

// Two processes on two database files and one empty store, started together: exactly one
// writes, the other is refused naming the lease, and the store holds one unforked history.
void race_rounds(const std::string& name, int rounds, const std::function<std::string(int)>& url,
                 const std::string& extra) {
  load_ltx_extension();  // the test credentials, for the children too
  for (int round = 0; round < rounds; ++round) {
    const std::string dir = scratch_dir(name + "-" + std::to_string(round));
    const std::vector<std::string> dbs = {dir + "/a.db", dir + "/b.db"};
    const auto outcomes = run_writers(dir, dbs, url(round), 3, 0, "&lease_wait_ms=0" + extra,
                                      wall_ms_from_now(milliseconds(150)));
    INFO("round " << round << "\na: rc " << outcomes[0].rc << " " << outcomes[0].err << "\nb: rc "
                  << outcomes[1].rc << " " << outcomes[1].err);
    const int winners = (outcomes[0].rc == 0) + (outcomes[1].rc == 0);
    REQUIRE(winners == 1);
    const size_t winner = outcomes[0].rc == 0 ? 0 : 1;
    const Outcome& loser = outcomes[1 - winner];
    CHECK(loser.rc == 3);
    // Refused by the lease while the winner writes, or (when the winner was done before the
    // loser started: a busy machine) by the history the winner left.
    CHECK_THAT(loser.err, Catch::Contains("another writer") || Catch::Contains("did not write"));
    // One history: its newest state is the winner's database, reached without a gap.
    auto opened = ltxvfs::storage::open_store(url(round));
    auto files = ltxvfs::history::list_ltx_files(*opened.store, opened.layout);
    uint64_t gap_after = 0;
    const uint64_t newest = ltxvfs::history::newest_restorable_txid(files, &gap_after);
    CHECK(gap_after == 0);
    CHECK(outcomes[winner].out == "opened\ntxid " + std::to_string(newest) + "\n");
    CHECK(describe_difference(restore_replica(url(round), newest, dir),
                              read_file_bytes(dbs[winner])) == "identical");
  }
}

}  // namespace

TEST_CASE("two writers started together on one directory replica: exactly one writes",
          "[write][lease]") {
  const std::string stores = scratch_dir("lease-race-dir-stores");
  race_rounds(
      "lease-race-dir", test_rounds(100),
      [&](int round) { return stores + "/r" + std::to_string(round); }, "");
}

TEST_CASE("two writers started together on one S3 replica: exactly one writes", "[moto]") {
  const auto bucket = make_test_bucket(Server::kMoto);
  race_rounds(
      "lease-race-s3", test_rounds(100),
      [&](int round) { return bucket.url("r" + std::to_string(round)); }, "");
}

// A close that runs out of close_timeout_ms cancels its store's calls; it used to leave its lease
// held too (the release, a store call, was cancelled with them), and the next writer waited out
// the TTL. Its stages have all stopped by then, so the release gets a budget of its own.
TEST_CASE("a close that runs out of close_timeout_ms still releases its lease", "[moto]") {
  load_ltx_extension();
  const auto bucket = make_test_bucket(Server::kMoto);
  TcpProxyOptions slow;
  slow.request_latency = milliseconds(150);  // an upload (object, then head) takes 300 ms or more
  TcpProxy proxy(port_of(bucket.endpoint), slow);
  const std::string dir = scratch_dir("close-out-of-time");
  int64_t txid = 0;
  {
    Db db("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0&close_timeout_ms=50&replica=s3://" +
          bucket.bucket + "/app&endpoint=http://127.0.0.1:" + std::to_string(proxy.port()));
    db.exec("CREATE TABLE t(v); INSERT INTO t VALUES (randomblob(100000))");
    txid = db.query_int("SELECT ltx_txid()");
  }
  auto opened = ltxvfs::storage::open_store(bucket.url("app"), bucket.settings);
  const auto text = [&](const std::string& key) {
    const auto got = opened.store->get(key);
    return std::string(got.body.begin(), got.body.end());
  };
  // The close ran out of time: its last upload was cut short (what is left goes at the next open),
  // the first one too when there is no head yet.
  const std::string head_key = ltxvfs::storage::head_key(opened.layout);
  if (opened.store->head(head_key)) {
    const auto head = ltxvfs::history::HeadRecord::from_json(text(head_key));
    REQUIRE(head);
    CHECK(head->txid < static_cast<uint64_t>(txid));
  }
  const auto lease =
      ltxvfs::history::LeaseRecord::from_json(text(ltxvfs::storage::lock_key(opened.layout)));
  REQUIRE(lease);
  INFO("the lease after the close: " << lease->describe());
  CHECK(lease->released());
}

// A deploy on the same host: the new process opens the database while the old one still has it.
// It waits (lease_wait_ms) for the old one to close, then continues the same history.
TEST_CASE("a new process waits for the old one to close, then continues its history",
          "[write][lease]") {
  load_ltx_extension();
  const std::string dir = scratch_dir("lease-handover");
  const std::string db = dir + "/app.db";
  const std::string replica = dir + "/replica";
  // The old process opens and commits; once it says so, the new one starts (and must wait).
  const std::string writer = LTXVFS_LEASE_WRITER_PATH " '" + db + "' '" + replica + "' 0 5 ";
  std::string command =
      "(" + writer + "1500 '' >" + dir + "/old.out 2>" + dir + "/old.err; echo $? >" + dir +
      "/old.rc) & for i in $(seq 400); do grep -q opened " + dir +
      "/old.out 2>/dev/null && break; sleep 0.05; done; (" + writer + "0 '&lease_wait_ms=20000' >" +
      dir + "/new.out 2>" + dir + "/new.err; echo $? >" + dir + "/new.rc) & wait";
  const auto began = Clock::now();
  REQUIRE(run_command(command) == 0);
  INFO("old: " << text_of(dir + "/old.err") << "\nnew: " << text_of(dir + "/new.err"));
  CHECK(text_of(dir + "/old.rc") == "0\n");
  CHECK(text_of(dir + "/new.rc") == "0\n");
  CHECK(Clock::now() - began >= milliseconds(1500));  // the new one really waited
  CHECK(text_of(dir + "/old.out").rfind("opened\n", 0) == 0);
  // One continuous history, the new process's transactions after the old one's.
  auto opened = ltxvfs::storage::open_store(replica);
  auto files = ltxvfs::history::list_ltx_files(*opened.store, opened.layout);
  uint64_t gap_after = 0;
  const uint64_t newest = ltxvfs::history::newest_restorable_txid(files, &gap_after);
  CHECK(gap_after == 0);
  CHECK(text_of(dir + "/new.out") == "opened\ntxid " + std::to_string(newest) + "\n");
  size_t chains = 0;  // uploads starting at TXID 1 (compactions of them start there too)
  for (const auto& f : files) chains += f.level == 0 && f.min_txid == 1;
  CHECK(chains == 1);  // no new chain: the new process continued the old one's
  CHECK(describe_difference(restore_replica(replica, newest, dir), read_file_bytes(db)) ==
        "identical");
}

// Another writer took the lease over (legitimately only after this one failed to renew it for
// its whole TTL): at its next renewal this writer learns it and stops uploading for good.
TEST_CASE("a writer whose lease was taken over stops uploading and refuses writes",
          "[write][lease]") {
  const std::string dir = scratch_dir("lease-lost");
  const std::string replica = dir + "/replica";
  Db db("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0&replica=" + replica);
  db.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
  auto stats = [&] { return nlohmann::json::parse(db.query_text("SELECT ltx_stats()")); };
  CHECK_THAT(stats()["lease"].get<std::string>(), Catch::StartsWith("held"));
  // Someone else writes lock.json: a lease of its own, far in the future.
  auto opened = ltxvfs::storage::open_store(replica);
  ltxvfs::history::LeaseRecord foreign{99, wall_ms_from_now(std::chrono::minutes(5)),
                                       "elsewhere:1:0000000000000001"};
  const std::string json = foreign.to_json();
  opened.store->put(ltxvfs::storage::lock_key(opened.layout),
                    std::span(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
  // Renewals come every TTL/3 (10 s): within 15 s the writer has noticed.
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline && stats()["conflict"] == "") {
    std::this_thread::sleep_for(milliseconds(200));
  }
  const std::string conflict = stats()["conflict"];
  CHECK_THAT(conflict, Catch::Contains("took the lease over"));
  // From then on nothing more goes up, and the application hears of it at its next write: a
  // commit here could never reach the replica (issue 16: before, commits went on without an
  // error while the store stayed behind). Reads go on.
  const uint64_t uploaded = stats()["uploaded_txid"];
  CHECK_THAT(db.try_exec("INSERT INTO t VALUES (2)"), Catch::Contains("I/O error"));
  std::this_thread::sleep_for(milliseconds(500));
  CHECK(stats()["uploaded_txid"].get<uint64_t>() == uploaded);
  CHECK(db.query_int("SELECT count(*) FROM t") == 1);
  CHECK_THAT(stats()["last_error"].get<std::string>(), Catch::Contains("took the lease over"));
}

// Opening a database waits for its own lease only: while one open waits (up to lease_wait_ms) for
// a lease another writer holds, another database of the same process opens and commits. Before,
// the process-wide lock was held through that wait and every `ltx` open stalled behind it.
TEST_CASE("an open waiting for a lease does not hold up other databases", "[write][lease]") {
  const std::string dir = scratch_dir("lease-wait-isolated");
  const std::string held = dir + "/held-replica";
  auto opened = ltxvfs::storage::open_store(held);
  ltxvfs::history::LeaseRecord foreign{99, wall_ms_from_now(std::chrono::minutes(5)),
                                       "elsewhere:1:0000000000000001"};
  const std::string json = foreign.to_json();
  opened.store->put(ltxvfs::storage::lock_key(opened.layout),
                    std::span(reinterpret_cast<const uint8_t*>(json.data()), json.size()));

  std::atomic<bool> waiting_open_returned{false};
  std::string waiting_error;
  std::thread waiting([&] {
    try {
      Db db("file:" + dir + "/a.db?vfs=ltx&lease_wait_ms=10000&replica=" + held);
    } catch (const std::exception& e) {
      waiting_error = e.what();
    }
    waiting_open_returned = true;
  });
  // Give the first open time to reach its lease wait (it waits 10 s there).
  std::this_thread::sleep_for(milliseconds(300));
  REQUIRE_FALSE(waiting_open_returned);
  const auto start = Clock::now();
  {
    Db other("file:" + dir + "/b.db?vfs=ltx&replica=" + dir + "/free-replica");
    other.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
    CHECK(other.query_int("SELECT count(*) FROM t") == 1);
  }
  const auto other_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
  INFO("the other database opened, committed and closed in " << other_ms << " ms");
  // The other database was done while the first open was still waiting for its lease.
  CHECK_FALSE(waiting_open_returned);
  waiting.join();
  CHECK_FALSE(waiting_error.empty());  // refused: the lease stayed held (the reason is logged)
}

// Issue 16, item 1, with a real clock shift: a second writer whose wall clock runs 45 s ahead
// (an LD_PRELOAD library moves its clock_gettime, gettimeofday and time) tries the replica while
// the first writer holds the lease. Before, it judged the lease expired by its own clock, took it
// over (generation 2) and the history forked. Now expiry is the store's to tell: it is refused,
// and the first writer goes on.
TEST_CASE("a writer whose clock runs 45 s ahead does not take a live writer's lease",
          "[write][lease][preload]") {
  load_ltx_extension();
  const std::string dir = scratch_dir("lease-skew");
  const std::string replica = dir + "/replica";
  Db a("file:" + dir + "/a.db?vfs=ltx&upload_interval_ms=0&replica=" + replica);
  a.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
  auto opened = ltxvfs::storage::open_store(replica);
  auto lease = [&] {
    const auto got = opened.store->get(ltxvfs::storage::lock_key(opened.layout));
    const auto record = ltxvfs::history::LeaseRecord::from_json(
        std::string_view(reinterpret_cast<const char*>(got.body.data()), got.body.size()));
    REQUIRE(record);
    return *record;
  };
  const auto before = lease();

  const std::string command = "LD_PRELOAD=" LTXVFS_CLOCK_SHIFT_PATH
                              " LTXVFS_CLOCK_SHIFT_MS=45000 " LTXVFS_LEASE_WRITER_PATH " '" +
                              dir + "/b.db' '" + replica + "' " +
                              std::to_string(wall_ms_from_now(milliseconds(0))) +
                              " 3 0 '&lease_wait_ms=2000' >" + dir + "/b.out 2>" + dir +
                              "/b.err; echo $? >" + dir + "/b.rc";
  REQUIRE(run_command(command) == 0);
  const std::string err = text_of(dir + "/b.err");
  INFO("b: " << err);
  CHECK(std::stoi(text_of(dir + "/b.rc")) == 3);
  CHECK_THAT(err, Catch::Contains("being replicated by another writer"));
  const auto after = lease();
  CHECK(after.owner == before.owner);
  CHECK(after.generation == before.generation);
  // The first writer never lost the replica: it still commits and uploads.
  a.exec("INSERT INTO t VALUES (2)");
  const auto stats = nlohmann::json::parse(a.query_text("SELECT ltx_stats()"));
  CHECK(stats["conflict"] == "");
}

// Issue 18: no close waits on another database. Other databases' uploads are held in their
// stores (a child process holds each store's lock, so their conditional PUTs block) until every
// worker of the process's pool is taken by them and more of their runs are queued. A database on
// a free store then opens, commits and closes: its close's runs go to the front and get workers
// of their own. Before, the upload's last run (the one that tells the close it is done) was
// queued behind the held ones, the close ran into close_timeout_ms and cancelled its store, and
// the lease was never released (the next open would wait it out).
TEST_CASE("a close releases its lease while other databases' uploads hold every worker",
          "[write][lease]") {
  load_ltx_extension();
  const std::string dir = scratch_dir("close-beside-held");
  // A child process locks each path it reads from `paths` (one per line) and answers one byte;
  // it lets go of them all, and exits, when `paths` closes. Started before any database opens.
  // It only reads, opens, locks and writes (no allocation after fork()).
  int paths[2], acks[2];
  REQUIRE(::pipe(paths) == 0);
  REQUIRE(::pipe(acks) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(paths[1]);
    ::close(acks[0]);
    char path[4096];
    size_t len = 0;
    char c = 0;
    while (::read(paths[0], &c, 1) == 1) {
      if (c != '\n') {
        if (len + 1 < sizeof path) path[len++] = c;
        continue;
      }
      path[len] = '\0';
      len = 0;
      const int fd = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0 || ::flock(fd, LOCK_EX) != 0 || ::write(acks[1], "k", 1) != 1) ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(paths[0]);
  ::close(acks[1]);
  // More held databases than the pool has workers (2 x cores + 4, at least 8). Each store's lock
  // is taken right after its database opened and committed, long before its upload window (1 s)
  // ends: every upload of theirs then blocks in a conditional PUT, on a worker.
  const int held = static_cast<int>(2 * std::max(1U, std::thread::hardware_concurrency()) + 12);
  std::vector<std::unique_ptr<Db>> others;
  // Destroyed before `others`, also when a REQUIRE fails: their closes would wait for uploads
  // blocked on the child's locks (a lock wait cannot be cancelled).
  struct LetGo {
    int& fd;
    ~LetGo() {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  } let_go{paths[1]};
  for (int i = 0; i < held; ++i) {
    const std::string replica = dir + "/held-" + std::to_string(i);
    others.push_back(std::make_unique<Db>("file:" + dir + "/held-" + std::to_string(i) +
                                          ".db?vfs=ltx&replica=" + replica));
    others.back()->exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
    const std::string line = replica + "/.ltxvfs-lock\n";  // the store's lock (file_store.h)
    REQUIRE(::write(paths[1], line.data(), line.size()) == static_cast<ssize_t>(line.size()));
    char ack = 0;
    REQUIRE(::read(acks[0], &ack, 1) == 1);
  }
  // Their upload windows end; each upload then blocks on its store's lock.
  std::this_thread::sleep_for(milliseconds(2500));

  const std::string replica = dir + "/free-replica";
  std::string free_stats;  // at its close, for a failure's message
  std::vector<uint8_t> free_image;
  {
    Db db("file:" + dir + "/free.db?vfs=ltx&replica=" + replica);
    db.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
    free_stats = db.query_text("SELECT ltx_stats()");
    free_image = db.serialize();
  }
  auto opened = ltxvfs::storage::open_store(replica);
  const auto got = opened.store->get(ltxvfs::storage::lock_key(opened.layout));
  const auto lease = ltxvfs::history::LeaseRecord::from_json(
      std::string_view(reinterpret_cast<const char*>(got.body.data()), got.body.size()));
  // The held databases are still held: nothing they queued could have run before the close.
  int uploaded = 0;
  std::string held_stats;
  for (auto& other : others) {
    const auto stats = nlohmann::json::parse(other->query_text("SELECT ltx_stats()"));
    if (stats["uploaded_txid"].get<uint64_t>() == 0) continue;
    ++uploaded;
    held_stats += "\n" + stats.dump();
  }
  ::close(paths[1]);
  paths[1] = -1;
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  ::close(acks[0]);
  others.clear();  // their uploads go on now, and their closes end them
  INFO("the held databases that uploaded:" << held_stats);
  CHECK(uploaded == 0);
  REQUIRE(lease);
  INFO("the free database's stats before its close: " << free_stats);
  INFO("the free database's lease after its close: " << lease->describe());
  CHECK(lease->released());
  // And its commits reached its store: restored, it is what SQLite saw before the close.
  CHECK(describe_difference(restore_replica(replica, std::nullopt, dir), free_image) ==
        "identical");
}
