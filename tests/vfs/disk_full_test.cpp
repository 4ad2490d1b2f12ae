// A full disk under <db>-ltx (the spool's home): COMMIT must not wait for it, and replication
// must recover by itself once space returns (issue 16, item 4: the committing thread blocked in
// the checkpoint gate for as long as the disk stayed full). The disk is a 32 MiB tmpfs mounted on
// <db>-ltx (room for a full file of the 6 MB database once space returns), filled but for 16 KiB
// by a filler file.
#include <sys/statvfs.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/vfs/sqlite_support.h"

using namespace ltxvfs::testing;
namespace fs = std::filesystem;

namespace {

// Fills the file system of `dir` but for `leave` bytes with one file; returns its path.
std::string fill(const std::string& dir, uint64_t leave) {
  struct statvfs st {};
  REQUIRE(::statvfs(dir.c_str(), &st) == 0);
  const uint64_t free = uint64_t{st.f_bavail} * st.f_frsize;
  const std::string path = dir + "/filler";
  std::ofstream out(path, std::ios::binary);
  const std::vector<char> chunk(64 * 1024, 'x');
  for (uint64_t left = free > leave ? free - leave : 0; left > 0;) {
    const uint64_t n = std::min<uint64_t>(left, chunk.size());
    if (!out.write(chunk.data(), static_cast<std::streamsize>(n))) break;
    left -= n;
  }
  return path;
}

}  // namespace

TEST_CASE("a full disk under <db>-ltx does not hold COMMIT, and replication recovers", "[write]") {
  if (::geteuid() != 0) {
    WARN("not run: mounting the small file system needs root (CI runs as root)");
    return;
  }
  const std::string dir = scratch_dir("full-ltx-disk");
  const std::string replica = dir + "/replica";
  TmpfsMount disk(dir + "/app.db-ltx", "32m");
  REQUIRE(disk.mounted());
  const std::string uri = "file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0&replica=" + replica;
  int64_t rows = 0;
  {
    Db db(uri);
    db.exec("CREATE TABLE t(v BLOB); INSERT INTO t VALUES (randomblob(1000))");
    ++rows;
    const std::string filler = fill(dir + "/app.db-ltx", 16 * 1024);
    // 60 transactions of 100 KB, with the checkpoints SQLite runs every 1000 pages: each batch
    // the builder spools fails with ENOSPC. Every COMMIT returns (before, the first checkpoint
    // waited for the failing builder for as long as the disk stayed full).
    for (int i = 0; i < 60; ++i) {
      db.exec("INSERT INTO t VALUES (randomblob(100000))");
      ++rows;
    }
    CHECK(db.query_int("SELECT count(*) FROM t") == rows);
    CHECK_THAT(stats_of(db)["last_error"].get<std::string>(), Catch::Contains("space"));
    // Space returns: replication catches up by itself (a full file from the recorded position).
    fs::remove(filler);
    db.exec("INSERT INTO t VALUES (randomblob(1000))");
    ++rows;
  }
  // Reopened with remote durability, so the last commit is in the store before the restore.
  Db db(primary_uri(dir, "&replica=" + replica));
  db.exec("INSERT INTO t VALUES (randomblob(1000))");
  ++rows;
  CHECK(db.query_int("SELECT count(*) FROM t") == rows);
  check_restores_to(db, replica, dir);
}
