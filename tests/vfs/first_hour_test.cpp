// Issue 19, "the first hour of a new user": the mistakes a newcomer makes are named, and a refused
// open leaves nothing behind.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/vfs/sqlite_support.h"

using namespace ltxvfs::testing;
namespace fs = std::filesystem;

namespace {

// The error opening `uri` ("" when it opened).
std::string open_error(const std::string& uri) {
  try {
    Db db(uri);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

std::string last_error() {
  Db memory(":memory:");
  return memory.query_text("SELECT ltx_last_error()");
}

// Every entry under `dir`, recursively, as relative paths: what a refused open must not change.
std::string listing(const std::string& dir) {
  std::string out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out += fs::relative(e.path(), dir).string() + " ";
    if (e.is_regular_file()) out += std::to_string(e.file_size());
    out += "\n";
  }
  return out;
}

}  // namespace

// Cause: on a connection that did not open its database through ltx, ltx_txid() and ltx_stats()
// returned NULL, which the shell prints as an empty line: a user who forgot ?vfs=ltx saw writes
// succeed and no sign that nothing was replicated.
TEST_CASE("ltx_*() on a database not opened through ltx fail, saying how to open it", "[write]") {
  const std::string dir = scratch_dir("not-through-ltx");
  Db plain("file:" + dir + "/m.db?vfs=unix");
  plain.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
  for (const char* call : {"SELECT ltx_txid()", "SELECT ltx_stats()"}) {
    const std::string error = plain.try_exec(call);
    INFO(call);
    CHECK_THAT(error, Catch::Contains("not replicated") && Catch::Contains("m.db?vfs=ltx") &&
                          Catch::Contains("LTXVFS_DEFAULT_VFS=1"));
  }
  Db memory(":memory:");
  CHECK_THAT(memory.try_exec("SELECT ltx_txid()"), Catch::Contains("file:app.db?vfs=ltx"));
  // A read-only open through ltx replicates nothing either.
  Db read_only("file:" + dir + "/m.db?vfs=ltx&mode=ro", SQLITE_OPEN_READONLY);
  CHECK_THAT(read_only.try_exec("SELECT ltx_stats()"), Catch::Contains("read-only"));
  // ltx_metrics() is the process's, and works on any connection.
  CHECK(memory.try_exec("SELECT ltx_metrics()").empty());
  // Through ltx, both work.
  Db db(primary_uri(dir));
  db.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
  CHECK(db.query_int("SELECT ltx_txid()") > 0);
  CHECK(stats_of(db)["role"] == "primary");
}

// Cause: SQLite reports every refused open as "unable to open database file"; the reason went
// to stderr only, which an application (or a Python notebook) does not see.
TEST_CASE("ltx_last_error() names why the newest open was refused", "[write]") {
  const std::string dir = scratch_dir("last-error");
  REQUIRE_FALSE(open_error(primary_uri(dir, "&bogus_param=1")).empty());
  std::string error = last_error();
  CHECK_THAT(error, Catch::Contains(dir + "/app.db") &&
                        Catch::Contains("unknown URI parameter 'bogus_param'"));
  // A replica-only parameter on a primary: the message says where it belongs.
  REQUIRE_FALSE(open_error(primary_uri(dir, "&poll_ms=100")).empty());
  CHECK_THAT(last_error(), Catch::Contains("'poll_ms'") && Catch::Contains("mode=ro"));
  REQUIRE_FALSE(open_error(primary_uri(dir, "&format=parquet")).empty());
  CHECK_THAT(last_error(), Catch::Contains("parquet"));
  // A successful open does not hide the newest refusal.
  Db db(primary_uri(dir));
  CHECK_THAT(last_error(), Catch::Contains("parquet"));
}

// Cause: the database file SQLite's open creates, WAL mode's conversion and <db>-ltx/ stayed when
// ltx refused the open; and every clean close left <db>-ltx/upload.tmp.
TEST_CASE("a refused open leaves the filesystem as it found it", "[write]") {
  const std::string dir = scratch_dir("refused-open-footprint");
  SECTION("an unknown parameter on a new database") {
    REQUIRE_FALSE(open_error(primary_uri(dir, "&bogus=1")).empty());
    CHECK(listing(dir).empty());
  }
  SECTION("an existing database and folder are kept as they were") {
    {
      Db db(primary_uri(dir));
      db.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
    }
    const std::string before = listing(dir);
    REQUIRE_FALSE(open_error(primary_uri(dir, "&bogus=1")).empty());
    REQUIRE_FALSE(open_error(primary_uri(dir, "&format=parquet")).empty());
    CHECK(listing(dir) == before);
    CHECK(Db(primary_uri(dir)).query_int("SELECT count(*) FROM t") == 1);
  }
  SECTION("a lease held by another writer") {
    const std::string shared = "file://" + dir + "/shared";
    // Quiet once its statements return (the commits acknowledged by the store, no history
    // work), so the listing below changes only if the refused opens change it: under ASan the
    // holder's spool was still being appended when `before` was taken.
    Db holder("file:" + dir + "/a.db?vfs=ltx&durability=remote&upload_interval_ms=0" +
              "&levels=off&snapshot_interval=off&retention=off&replica=" + shared);
    holder.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
    const std::string before = listing(dir);
    REQUIRE_FALSE(
        open_error("file:" + dir + "/b.db?vfs=ltx&lease_wait_ms=0&replica=" + shared).empty());
    CHECK_THAT(last_error(), Catch::Contains(dir + "/b.db"));
    CHECK_FALSE(fs::exists(dir + "/b.db"));
    CHECK_FALSE(fs::exists(dir + "/b.db-ltx"));
    CHECK(listing(dir) == before);
    // A database that existed keeps everything it had, and its own folder is left alone.
    Db("file:" + dir + "/c.db?vfs=unix").exec("CREATE TABLE u(v)");
    fs::create_directories(dir + "/c.db-ltx");
    REQUIRE_FALSE(
        open_error("file:" + dir + "/c.db?vfs=ltx&lease_wait_ms=0&replica=" + shared).empty());
    CHECK(fs::exists(dir + "/c.db-ltx"));
    CHECK(Db("file:" + dir + "/c.db?vfs=unix").query_int("SELECT count(*) FROM u") == 0);
  }
  SECTION("a clean close removes upload.tmp") {
    {
      Db db("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=50");
      db.exec("CREATE TABLE t(v)");
      for (int i = 0; i < 20; ++i) db.exec("INSERT INTO t VALUES (" + std::to_string(i) + ")");
    }
    CHECK(fs::exists(dir + "/app.db-ltx/spool"));
    CHECK_FALSE(fs::exists(dir + "/app.db-ltx/upload.tmp"));
  }
}

TEST_CASE("ltx_version() is the version ltxvfs --version prints", "[write]") {
  Db memory(":memory:");
  const std::string version = memory.query_text("SELECT ltx_version()");
  CHECK_THAT(version, Catch::Matches("[0-9]+\\.[0-9]+\\.[0-9]+.*"));
  std::string out;
  REQUIRE(run_command(std::string("'") + LTXVFS_CLI_PATH + "' --version", &out) == 0);
  CHECK(out == "ltxvfs " + version + "\n");
}

// Cause: an LTXVFS_LOG that is not a level was silently taken as the default.
TEST_CASE("LTXVFS_LOG=bogus is named, with the accepted values", "[write][shell]") {
  load_ltx_extension();
  std::string out;
  REQUIRE(run_command("echo '.load " LTXVFS_EXTENSION_PATH "' | LTXVFS_LOG=bogus sqlite3", &out) ==
          0);
  CHECK_THAT(out, Catch::Contains("LTXVFS_LOG='bogus'") &&
                      Catch::Contains("off, error, warn, info or debug"));
  REQUIRE(run_command("echo '.load " LTXVFS_EXTENSION_PATH "' | LTXVFS_LOG=info sqlite3", &out) ==
          0);
  CHECK(out.empty());
}

// What the newcomer typed: .load, then .open without ?vfs=ltx.
TEST_CASE("the sqlite3 shell says so when the database was not opened through ltx",
          "[write][shell]") {
  const std::string dir = scratch_dir("shell-no-vfs");
  std::string out;
  run_sqlite3_shell(".open " + dir + "/m.db\nCREATE TABLE t(v);\nSELECT ltx_txid();", &out);
  CHECK_THAT(out, Catch::Contains("?vfs=ltx"));
  run_sqlite3_shell(".bail off\n.open file:" + dir +
                        "/n.db?vfs=ltx&bogus=1\n.open :memory:\n"
                        "SELECT ltx_last_error();",
                    &out);
  CHECK_THAT(out, Catch::Contains("unknown URI parameter 'bogus'"));
}

// Cause: a database on a read-only file system was refused as if "another process holds it in a
// rollback-journal transaction". (Permissions cannot show it: CI runs as root.)
TEST_CASE("a database that cannot be written is refused, saying to make it writable", "[write]") {
  if (::geteuid() != 0) {
    WARN("not run: mounting the read-only file system needs root (CI runs as root)");
    return;
  }
  const std::string dir = scratch_dir("read-only-folder");
  TmpfsMount disk(dir + "/ro", "4m");
  REQUIRE(disk.mounted());
  {
    Db plain("file:" + dir + "/app.db?vfs=unix");  // a rollback-journal database
    plain.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  }
  // The file writable (a writable copy bound over it), its folder not: WAL mode cannot create
  // app.db-wal beside it.
  std::ofstream(dir + "/ro/app.db").put('\0');
  REQUIRE(disk.make_read_only());
  REQUIRE(run_command("mount --bind '" + dir + "/app.db' '" + dir + "/ro/app.db'") == 0);
  const std::string error = open_error("file:" + dir + "/ro/app.db?vfs=ltx&replica=" + dir + "/r");
  run_command("umount '" + dir + "/ro/app.db'");
  CHECK_FALSE(error.empty());
  const std::string why = last_error();
  CHECK_THAT(why, Catch::Contains("make the file and its folder writable"));
  CHECK_THAT(why, !Catch::Contains("rollback-journal transaction"));
}

// Cause: nothing was said on success (even at LTXVFS_LOG=info), and a second writer waited
// lease_wait_ms (10 s) in silence before its error.
TEST_CASE("the shell hears of each upload, the close, and a wait for another writer",
          "[write][shell]") {
  const std::string dir = scratch_dir("first-hour-words");
  const std::string shared = dir + "/shared";
  const auto shell = [&](const std::string& script) {
    const std::string path = dir + "/script.sql";
    std::ofstream(path) << ".load " LTXVFS_EXTENSION_PATH "\n" << script << "\n";
    std::string out;
    run_command("LTXVFS_LOG=info sqlite3 < '" + path + "'", &out);
    return out;
  };
  const std::string out =
      shell(".open file:" + dir + "/a.db?vfs=ltx&upload_interval_ms=0&replica=" + shared +
            "\nCREATE TABLE t(v);\nINSERT INTO t VALUES (1);");
  CHECK_THAT(out, Catch::Contains("uploaded TXIDs 1-"));
  CHECK_THAT(out, Catch::Contains("closed " + dir + "/a.db: ") && Catch::Contains("holds TXID 3"));
  // A reopened writer's first pass names the TXIDs it shipped, not "1-N": with the default upload
  // window that pass (at the close) learns the remote TXID itself, taking the head.
  const std::string again = shell(".open file:" + dir + "/a.db?vfs=ltx&replica=" + shared +
                                  "\nINSERT INTO t VALUES (2);");
  CHECK_THAT(again, Catch::Contains("uploaded TXIDs 4-4: 1 object"));
  // Another writer holds the replica location: the wait is announced before it ends in the error.
  Db holder("file:" + dir + "/a.db?vfs=ltx&replica=" + shared);
  holder.exec("INSERT INTO t VALUES (3)");
  const std::string waited =
      shell(".open file:" + dir + "/b.db?vfs=ltx&lease_wait_ms=300&replica=" + shared +
            "\nCREATE TABLE u(v);");
  const size_t wait_at = waited.find("waiting up to 300 ms (lease_wait_ms)");
  CHECK(wait_at != std::string::npos);
  CHECK(waited.find("one writer per replica location") > wait_at);
}
