// Issue 16, item 10: a program that opens and closes a database thousands of times (SQLite's
// corruptC.test) left 11,514 files in level 0 after 15 minutes: every history run began at an
// open and was thrown away by the close that followed a few milliseconds later, so nothing was
// ever compacted, and every open listed the growing level 0 three times.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "history/restore_plan.h"
#include "storage/store_factory.h"
#include "tests/vfs/sqlite_support.h"

using namespace ltxvfs::testing;

namespace {

std::map<uint32_t, size_t> files_per_level(const std::string& replica) {
  auto opened = ltxvfs::storage::open_store(replica);
  std::map<uint32_t, size_t> out;
  for (const auto& f : ltxvfs::history::list_ltx_files(*opened.store, opened.layout)) {
    ++out[f.level];
  }
  return out;
}

}  // namespace

// Each connection lives for one INSERT, about a millisecond: far shorter than any level's
// interval, and shorter than the history run its open starts. The levels are short (1 ms, 50 ms)
// so that every run has something due, and the grace period is 0, so that a level-0 file goes
// once level 1 holds it.
//
// The bound: every close lets the history run of its open finish (or runs one when none began),
// and that run compacts every level-0 file older than the current millisecond, then deletes what
// level 1 covers. What a close leaves in level 0 is the file its own INSERT uploaded (the run
// works from the listing taken at the open, before it), and the previous connection's if that
// one was not yet a millisecond old: 2 at most (1 after every connection here). A close whose
// run ran out of close_timeout_ms (a saturated disk) leaves its files to the next one: 8 leaves
// room for a few of those. Without the fix level 0 grows by one file per connection (201 files
// after 200 connections here: nothing was ever compacted).
TEST_CASE("short-lived connections: history upkeep keeps level 0 bounded", "[write][history]") {
  const std::string dir = scratch_dir("short-connections");
  const std::string uri =
      "file:" + dir + "/app.db?vfs=ltx&levels=1ms,50ms&retention_grace=0&snapshot_interval=off";
  {
    Db db(uri);
    db.exec("CREATE TABLE t(v)");
  }
  const int connections = test_rounds(200);
  size_t most_in_level0 = 0;
  for (int i = 0; i < connections; ++i) {
    {
      Db db(uri);
      db.exec("INSERT INTO t VALUES (randomblob(100))");
    }
    const auto levels = files_per_level(replica_dir(dir));
    const size_t level0 = levels.count(0) != 0 ? levels.at(0) : 0;
    most_in_level0 = std::max(most_in_level0, level0);
    INFO("after connection " << i + 1 << ": " << level0 << " files in level 0");
    REQUIRE(level0 <= 8);
  }
  const auto levels = files_per_level(replica_dir(dir));
  CHECK(levels.count(1) + levels.count(2) > 0);  // the history was compacted, not only deleted
  INFO("most files in level 0 after a connection: " << most_in_level0);
  // Restored once closed: with no grace period, the history of an open connection may delete a
  // file a restore has just planned with.
  std::vector<uint8_t> image;
  int64_t txid = 0;
  {
    Db db(uri);
    CHECK(db.query_int("SELECT count(*) FROM t") == connections);
    txid = db.query_int("SELECT ltx_txid()");
    image = db.serialize();
  }
  CHECK(describe_difference(restore_replica(replica_dir(dir), static_cast<uint64_t>(txid), dir),
                            image) == "identical");
}
