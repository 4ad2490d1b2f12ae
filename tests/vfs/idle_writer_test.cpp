// Issue 18: an idle writer sends almost no request. Measured on moto before: every history run
// read head.json and listed the store (2 GETs and 2 LISTs a minute with the default levels), with
// nothing changed since the run before. Now a run reads only after an upload of this writer, or
// when something is due.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "tests/vfs/sqlite_support.h"

using namespace ltxvfs::testing;
using std::chrono::milliseconds;

// Level 1 every second, so the history thread wakes every second; no snapshots and no retention,
// so once level 1 holds the upload nothing is due. Five seconds of such wake-ups must read
// nothing (before: a GET and a LIST each). Then a commit is replicated and compacted as usual.
TEST_CASE("idle writer: history runs with nothing new send no request", "[write][history]") {
  const std::string dir = scratch_dir("idle-writer");
  Db db("file:" + dir + "/app.db?vfs=ltx&levels=1s&snapshot_interval=off&retention=off");
  db.exec("CREATE TABLE t(v)");
  db.exec("INSERT INTO t VALUES (randomblob(100))");
  // Bounded wait (setup): everything is uploaded, and level 1 holds it.
  const int64_t txid = db.query_int("SELECT ltx_txid()");
  for (int i = 0; i < 500; ++i) {
    const auto s = stats_of(db);
    if (s["uploaded_txid"].get<int64_t>() == txid && s["compactions"].get<int64_t>() >= 1) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  REQUIRE(stats_of(db)["uploaded_txid"].get<int64_t>() == txid);
  REQUIRE(stats_of(db)["compactions"].get<int64_t>() >= 1);
  // The first run after the last upload reads (and compacts what the first did not hold).
  std::this_thread::sleep_for(milliseconds(2500));
  const auto before = stats_of(db);
  std::this_thread::sleep_for(milliseconds(5000));
  const auto after = stats_of(db);
  INFO("before " << before.dump() << "\nafter " << after.dump());
  for (const char* kind : {"gets", "heads", "lists", "deletes"}) {
    INFO(kind);
    CHECK(after["store"][kind] == before["store"][kind]);
  }
  CHECK(after["history_error"] == "");

  // A commit after that: uploaded, then compacted by a run that reads the store again.
  db.exec("INSERT INTO t VALUES (randomblob(100))");
  const int64_t compactions = after["compactions"].get<int64_t>();
  for (int i = 0; i < 500; ++i) {
    if (stats_of(db)["compactions"].get<int64_t>() > compactions) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  const auto last = stats_of(db);
  CHECK(last["compactions"].get<int64_t>() > compactions);
  CHECK(last["store"]["lists"].get<int64_t>() > after["store"]["lists"].get<int64_t>());
  check_restores_to(db, replica_dir(dir), dir);
}
