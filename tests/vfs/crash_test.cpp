// Real crashes: a child process commits through ltx and is killed with SIGKILL at random moments
// (mid-commit, mid-build, mid-upload). After each crash the database is reopened through ltx,
// which must resume replication without a gap: the restored replica equals the local database.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <thread>

#include "storage/store_factory.h"
#include "tests/vfs/sqlite_support.h"
#include "vfs/core/restore_plan.h"

using namespace ltxvfs::testing;

namespace {

pid_t spawn_writer(const std::string& db, unsigned seed) {
  pid_t pid = ::fork();
  if (pid == 0) {
    const std::string s = std::to_string(seed);
    ::execl(LTXVFS_CRASH_WRITER_PATH, "crash_writer", db.c_str(), s.c_str(), nullptr);
    ::_exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("SIGKILL at random moments loses nothing and leaves no gap", "[crash]") {
  const std::string dir = scratch_dir("crash");
  const std::string db_path = dir + "/app.db";
  const std::string replica = db_path + "-ltx/replica";
  std::mt19937 rng(20261121);
  const int iterations = 100;
  uint64_t last_txid = 0;
  for (int i = 0; i < iterations; ++i) {
    pid_t pid = spawn_writer(db_path, rng());
    REQUIRE(pid > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));  // it was still running: really killed mid-work

    // Every few crashes (and at the end), reopen and check the whole history so far.
    if (i % 10 != 9) continue;
    std::vector<uint8_t> expected;
    uint64_t txid = 0;
    {
      Db db("file:" + db_path + "?vfs=ltx&durability=remote&upload_interval_ms=0");
      txid = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
      // A commit through the reopened connection proves uploading resumed, and waits for it.
      db.exec("INSERT INTO t VALUES (-1, 'after crash " + std::to_string(i) + "')");
      txid = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
      expected = db.serialize();
      INFO("stats after crash " << i << ": " << db.query_text("SELECT ltx_stats()"));
      CHECK_THAT(db.query_text("SELECT ltx_stats()"), Catch::Contains("\"conflict\":\"\""));
    }
    REQUIRE(txid > last_txid);
    last_txid = txid;
    REQUIRE(describe_difference(restore_replica(replica, txid, dir), expected) == "identical");
    // The history is one contiguous chain from TXID 1.
    auto opened = ltxvfs::storage::open_store(replica);
    auto files = ltxvfs::core::list_ltx_files(*opened.store, opened.layout);
    uint64_t gap_after = 0;
    CHECK(ltxvfs::core::newest_restorable_txid(files, &gap_after) == txid);
    CHECK(gap_after == 0);
  }
}
