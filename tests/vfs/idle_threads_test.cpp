// Issue 18: an idle writer database holds no thread of its own. Its stages (sync, build, upload,
// history) run on the process's worker pool (base::PooledTask, base::WorkerPool), whose workers
// end a few seconds after the last run; the next commit starts what it needs again.
#include <dirent.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "tests/vfs/sqlite_support.h"

using namespace ltxvfs::testing;

namespace {

// Threads of this process that run writers' stages: the pool's workers (base/named_thread.h).
int stage_threads() {
  static const std::set<std::string> kStages = {"ltx-worker"};
  int n = 0;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    n += kStages.count(name) != 0 ? 1 : 0;
  }
  ::closedir(dir);
  return n;
}

// Waits (bounded: 60 s, far more than base::PooledTask::kIdleAfter plus the pool's idle exit)
// until no worker is left. No timing is asserted: only that the threads end at all.
bool stage_threads_end() {
  for (int i = 0; i < 600; ++i) {
    if (stage_threads() == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return stage_threads() == 0;
}

// Descriptors of this process open on files under `dir` (or on `dir` itself, with `exact`).
int descriptors_under(const std::string& dir, bool exact = false) {
  int n = 0;
  DIR* fds = ::opendir("/proc/self/fd");
  if (fds == nullptr) return -1;
  while (const dirent* e = ::readdir(fds)) {
    char target[4096];
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t len = ::readlink(link.c_str(), target, sizeof target - 1);
    const std::string path(target, len > 0 ? static_cast<size_t>(len) : 0);
    if (len > 0 && (exact ? path == dir : path.starts_with(dir))) ++n;
  }
  ::closedir(fds);
  return n;
}

}  // namespace

TEST_CASE("an idle writer holds no stage thread, and its next commit is replicated",
          "[write][idle]") {
  load_ltx_extension();
  const std::string dir = scratch_dir("idle-threads");
  // Remote durability: each commit returns once the store has it, so the commit after the idle
  // period needs the build, sync and upload stages to come back.
  Db db(primary_uri(dir));
  db.exec("CREATE TABLE t(v)");
  db.exec("INSERT INTO t VALUES (1)");
  CHECK(stage_threads() > 0);  // the open's history run, the commits' stages
  REQUIRE(stage_threads_end());
  // Nor a descriptor of its spool or upload work file (the writer lock stays: it must be held).
  CHECK(descriptors_under(dir + "/app.db-ltx/spool") == 0);
  CHECK(descriptors_under(dir + "/app.db-ltx/upload.tmp") == 0);
  CHECK(descriptors_under(dir + "/app.db-ltx/lock") == 1);
  // The WAL: SQLite's own descriptor only (the builder's reopens with its next job). The database:
  // SQLite's own only (the builder reads through it, vfs/shim/lent_db_files.h).
  CHECK(descriptors_under(dir + "/app.db-wal") == 1);
  CHECK(descriptors_under(dir + "/app.db", true) == 1);

  // Idle: the next commits start the stages again and reach the store.
  for (int i = 2; i <= 4; ++i) {
    db.exec("INSERT INTO t VALUES (" + std::to_string(i) + ")");
  }
  const auto stats = stats_of(db);
  CHECK(stats["txid"].get<uint64_t>() == stats["uploaded_txid"].get<uint64_t>());
  check_restores_to(db, replica_dir(dir), dir);
  REQUIRE(stage_threads_end());

  // A checkpoint while idle (it waits for the build and the sync) neither hangs nor loses a
  // commit.
  db.exec("INSERT INTO t VALUES (5)");
  REQUIRE(stage_threads_end());
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.exec("INSERT INTO t VALUES (6)");
  check_restores_to(db, replica_dir(dir), dir);
}

TEST_CASE("an idle writer closes without waiting for its stages, and leaves no thread",
          "[write][idle]") {
  load_ltx_extension();
  const std::string dir = scratch_dir("idle-close");
  {
    Db db("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=200");
    db.exec("CREATE TABLE t(v)");
    db.exec("INSERT INTO t VALUES (1)");
    REQUIRE(stage_threads_end());
    // A commit in its upload window when the close comes: the close uploads it.
    db.exec("INSERT INTO t VALUES (2)");
  }
  REQUIRE(stage_threads_end());  // nothing of the closed database keeps a worker
  // Reopened: the store has both commits (the open refuses a store ahead of the database, and
  // restores compare with what SQLite sees).
  Db db(primary_uri(dir));
  CHECK(db.query_int("SELECT count(*) FROM t") == 2);
  check_restores_to(db, replica_dir(dir), dir);
}
