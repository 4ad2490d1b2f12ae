// The write path end to end: a database written through the real libltxvfs.so, restored with the
// production restore code, compared byte for byte with what SQLite itself sees.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "base/time_spec.h"
#include "base/worker_pool.h"
#include "history/committed_history.h"
#include "history/restore_plan.h"
#include "ltx/decoder.h"
#include "ltx/header.h"
#include "ltx/source.h"
#include "storage/store_factory.h"
#include "tests/vfs/sqlite_support.h"

using namespace ltxvfs::testing;
namespace fs = std::filesystem;

namespace {

// Random work that exercises overflow pages, page reuse, index maintenance and deletes.
void random_transaction(Db& db, std::mt19937& rng, int i) {
  switch (rng() % 6) {
    case 0:
      db.exec("INSERT INTO t(k, v) VALUES (" + std::to_string(i) + ", randomblob(" +
              std::to_string(rng() % 6000) + "))");
      break;
    case 1:
      db.exec("UPDATE t SET v = randomblob(" + std::to_string(rng() % 300) +
              ") WHERE k % 3 = " + std::to_string(rng() % 3));
      break;
    case 2:
      db.exec("DELETE FROM t WHERE k % 5 = " + std::to_string(rng() % 5));
      break;
    case 3:
      db.exec(
          "BEGIN; INSERT INTO t(k, v) SELECT k + 100000, randomblob(50) FROM t LIMIT 40; "
          "COMMIT");
      break;
    case 4:
      // A savepoint rolled back inside a committed transaction.
      db.exec(
          "BEGIN; INSERT INTO t(k, v) VALUES (-1, 'kept'); SAVEPOINT s; "
          "INSERT INTO t(k, v) SELECT k, randomblob(2000) FROM t; ROLLBACK TO s; COMMIT");
      break;
    default:
      // The same page rewritten many times in one transaction.
      db.exec(
          "BEGIN; UPDATE t SET k = k + 1 WHERE k < 10; UPDATE t SET k = k - 1 WHERE k < 11; "
          "INSERT INTO t(k, v) VALUES (" +
          std::to_string(i) + ", 'x'); COMMIT");
  }
}

}  // namespace

TEST_CASE("every commit restores to exactly the database SQLite sees", "[write]") {
  const std::string format = GENERATE("native", "litestream");
  const std::string dir = scratch_dir("every-commit-" + format);
  Db db(primary_uri(dir, "&format=" + format));
  REQUIRE(db.query_text("PRAGMA journal_mode") == "wal");
  db.exec("CREATE TABLE t(k INTEGER, v BLOB); CREATE INDEX t_k ON t(k)");
  check_restores_to(db, replica_dir(dir), dir);
  std::mt19937 rng(42);
  for (int i = 0; i < 25; ++i) {
    random_transaction(db, rng, i);
    check_restores_to(db, replica_dir(dir), dir);
  }
}

TEST_CASE("matrix: synchronous x page size x cache spills x checkpoints x vacuum", "[write]") {
  const std::string sync = GENERATE("OFF", "NORMAL", "FULL");
  const int page_size = GENERATE(512, 4096, 65536);
  const bool tiny_cache = GENERATE(false, true);
  const std::string dir =
      scratch_dir("matrix-" + sync + "-" + std::to_string(page_size) + (tiny_cache ? "-tiny" : ""));
  // WAL mode (enabled at open) fixes the page size: a new database takes it from the URI.
  Db db(primary_uri(dir, "&page_size=" + std::to_string(page_size)));
  db.exec("PRAGMA synchronous=" + sync);
  // A tiny cache makes SQLite spill uncommitted pages into the WAL mid-transaction.
  if (tiny_cache) db.exec("PRAGMA cache_size=2");
  db.exec("CREATE TABLE t(k INTEGER, v BLOB); CREATE INDEX t_k ON t(k)");
  REQUIRE(db.query_int("PRAGMA page_size") == page_size);
  std::mt19937 rng(static_cast<unsigned>(page_size) + (tiny_cache ? 7 : 0));
  const char* checkpoints[] = {"PASSIVE", "FULL", "RESTART", "TRUNCATE"};
  for (int i = 0; i < 16; ++i) {
    random_transaction(db, rng, i);
    if (i % 4 == 3) db.exec(std::string("PRAGMA wal_checkpoint(") + checkpoints[(i / 4) % 4] + ")");
    if (i == 9) db.exec("DELETE FROM t WHERE k % 2 = 0; VACUUM");  // shrinks the database
    if (i % 3 == 0 || i == 9) check_restores_to(db, replica_dir(dir), dir);
  }
  check_restores_to(db, replica_dir(dir), dir);
  // Spills, rewritten frames, rollbacks and every checkpoint mode: the builder always knew each
  // frame's page from the wal-index and never had to read the WAL back.
  CHECK(stats_of(db)["wal_scans"].get<uint64_t>() == 0);
}

TEST_CASE("batches of commits across three wal-index regions are built from the wal-index alone",
          "[write]") {
  const std::string dir = scratch_dir("wal-index-regions");
  // The default pipeline (a batch per ~2 ms of commits), 1 KiB pages, no automatic checkpoint:
  // the WAL grows past frame 4062 (the end of wal-index region 0) and 8158 (region 1).
  Db db("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=100&page_size=1024");
  db.exec("PRAGMA wal_autocheckpoint=0");
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t(substr(v, 1, 16))");
  db.exec(
      "INSERT INTO t(v) SELECT randomblob(600) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
      "SELECT i + 1 FROM n WHERE i < 6000) SELECT i FROM n)");  // one transaction, ~5,000 frames
  for (int i = 0; i < 3000; ++i) {
    db.exec("UPDATE t SET v = randomblob(600) WHERE k = " + std::to_string(1 + (i * 7919) % 6000));
  }
  // Past frame 8158: 32-byte WAL header, then 24 + 1024 bytes per frame.
  REQUIRE(std::filesystem::file_size(dir + "/app.db-wal") > 32 + 8158 * (24 + 1024));
  const auto txid = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  for (int waited = 0; stats_of(db)["uploaded_txid"].get<uint64_t>() < txid && waited < 20000;
       waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto stats = stats_of(db);
  INFO(stats.dump());
  CHECK(stats["wal_scans"].get<uint64_t>() == 0);
  CHECK(stats["full_files"].get<uint64_t>() == 1);  // the first commit's snapshot only
  CHECK(stats["last_error"].get<std::string>().empty());
  CHECK(stats["batches"].get<uint64_t>() < stats["commits"].get<uint64_t>());  // batched
  check_restores_to(db, replica_dir(dir), dir);
}

TEST_CASE("a rollback ships nothing", "[write]") {
  const std::string dir = scratch_dir("rollback");
  Db db(primary_uri(dir, "&upload_interval_ms=0"));
  db.exec("PRAGMA cache_size=2; CREATE TABLE t(v)");
  const auto before = db.query_int("SELECT ltx_txid()");
  // Large enough to spill frames into the WAL before the rollback.
  db.exec(
      "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) INSERT "
      "INTO t SELECT randomblob(4000) FROM n; ROLLBACK");
  CHECK(db.query_int("SELECT ltx_txid()") == before);
  db.exec("INSERT INTO t VALUES (1)");
  CHECK(db.query_int("SELECT ltx_txid()") == before + 1);
  check_restores_to(db, replica_dir(dir), dir);
}

namespace {
// The names of this process's threads (/proc/self/task/*/comm).
std::multiset<std::string> thread_names() {
  std::multiset<std::string> names;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  return names;
}
}  // namespace

TEST_CASE("ltx's background work runs on the process's bounded pool of named workers", "[write]") {
  // Issue 18: 30 databases committing at once hold the pool's workers, not threads of their own
  // (4 each before the pool). The pool's bound, plus the workers it starts beyond it for runs this
  // test's one thread waits for (base/worker_pool.h, submit(): a new database's first build and
  // the build its first commit waits for); under vfs.one-worker (a bound of 1) CI saw 2.
  const size_t bound = ltxvfs::base::WorkerPool::default_max_threads() + 2;
  std::vector<std::unique_ptr<Db>> dbs;
  std::vector<std::string> dirs;
  size_t most = 0;
  for (int i = 0; i < 30; ++i) {
    dirs.push_back(scratch_dir("pool"));
    dbs.push_back(std::make_unique<Db>(primary_uri(dirs.back())));
    dbs.back()->exec("CREATE TABLE t(v)");
    dbs.back()->exec("INSERT INTO t VALUES (1)");
    const auto names = thread_names();
    most = std::max(most, names.count("ltx-worker"));
    for (const char* old : {"ltx-build", "ltx-sync", "ltx-upload", "ltx-history"}) {
      CHECK(names.count(old) == 0);
    }
  }
  CHECK(most >= 1);
  CHECK(most <= bound);
  dbs.clear();  // each close uploads its last commit through the same pool
  for (const std::string& dir : dirs) {
    Db db(primary_uri(dir));
    CHECK(db.query_int("SELECT count(*) FROM t") == 1);
    check_restores_to(db, replica_dir(dir), dir);
  }
}

TEST_CASE("a database is put in WAL mode and kept there", "[write]") {
  const std::string dir = scratch_dir("wal-mode");
  Db db(primary_uri(dir));
  CHECK(db.query_text("PRAGMA journal_mode") == "wal");
  const std::string error = db.try_exec("PRAGMA journal_mode=DELETE");
  CHECK_THAT(error, Catch::Contains("must stay in WAL mode"));
  CHECK(db.query_text("PRAGMA journal_mode") == "wal");
  CHECK_THAT(db.try_exec("PRAGMA locking_mode=EXCLUSIVE"),
             Catch::Contains("locking_mode=EXCLUSIVE is not supported"));
}

TEST_CASE("an existing rollback-mode database is converted and snapshotted", "[write]") {
  const std::string dir = scratch_dir("convert");
  fs::copy_file(LTXVFS_TEST_DATA_DIR "/Northwind_small.sqlite", dir + "/app.db");
  Db db(primary_uri(dir));
  CHECK(db.query_text("PRAGMA journal_mode") == "wal");
  db.exec("UPDATE Customer SET ContactName = upper(ContactName)");
  check_restores_to(db, replica_dir(dir), dir);
  CHECK(db.query_int("PRAGMA page_size") == 1024);
}

TEST_CASE("bad configuration is refused with a message naming it", "[write]") {
  const std::string dir = scratch_dir("bad-config");
  auto open_error = [&](const std::string& params) {
    try {
      Db db("file:" + dir + "/app.db?vfs=ltx" + params);
      return std::string();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  };
  // SQLite reports a failed open as "unable to open database file"; the extension prints the
  // reason. The check here is that the open fails; the message is checked with the shell below.
  CHECK_FALSE(open_error("&format=parquet").empty());
  CHECK_FALSE(open_error("&replica=ftp://host/x").empty());
  CHECK_FALSE(open_error("&no_such_parameter=1").empty());
  CHECK_FALSE(open_error("&durability=sometimes").empty());
  CHECK(open_error("&format=native").empty());
}

// The shell prints the extension's explanation (a VFS cannot attach text to SQLite's own
// "unable to open database file").
TEST_CASE("bad configuration: the message names the parameter and the accepted values",
          "[write][shell]") {
  const std::string dir = scratch_dir("bad-config-shell");
  std::string out;
  run_sqlite3_shell(".open file:" + dir + "/b.db?vfs=ltx&format=parquet", &out);
  CHECK_THAT(out, Catch::Contains("format") && Catch::Contains("parquet") &&
                      Catch::Contains("litestream"));
  run_sqlite3_shell(".open file:" + dir + "/c.db?vfs=ltx&bogus=1", &out);
  CHECK_THAT(out, Catch::Contains("unknown URI parameter 'bogus'"));
  run_sqlite3_shell(".open file:" + dir + "/d.db?vfs=ltx&page_size=1000", &out);
  CHECK_THAT(out, Catch::Contains("page_size") && Catch::Contains("power of two"));
}

TEST_CASE("a second process writing the same database through ltx is refused", "[write][shell]") {
  const std::string dir = scratch_dir("second-process");
  Db db(primary_uri(dir));
  db.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
  std::string out;
  const int rc = run_sqlite3_shell(
      ".open file:" + dir + "/app.db?vfs=ltx&lease_wait_ms=0\nINSERT INTO t VALUES (2);", &out);
  CHECK(rc != 0);
  CHECK_THAT(out, Catch::Contains("already replicated by process " + std::to_string(::getpid())));
  // Reading through ltx in read-only mode is fine.
  CHECK(run_sqlite3_shell(".open file:" + dir + "/app.db?vfs=ltx&mode=ro\nSELECT count(*) FROM t;",
                          &out) == 0);
  CHECK_THAT(out, Catch::Contains("1"));
  CHECK(db.query_int("SELECT count(*) FROM t") == 1);
}

TEST_CASE("connections of one process share one replication", "[write]") {
  const std::string dir = scratch_dir("shared");
  Db a(primary_uri(dir));
  Db b(primary_uri(dir));
  a.exec("CREATE TABLE t(v)");
  // (Whether TXID 1 is the empty database WAL mode created or the first commit depends on when
  // the builder's first run happens: count from here.)
  const int64_t start = a.query_int("SELECT ltx_txid()");
  for (int i = 0; i < 10; ++i) {
    (i % 2 == 0 ? a : b).exec("INSERT INTO t VALUES (" + std::to_string(i) + ")");
  }
  CHECK(a.query_int("SELECT ltx_txid()") == b.query_int("SELECT ltx_txid()"));
  CHECK(a.query_int("SELECT ltx_txid()") == start + 10);  // one TXID per transaction
  check_restores_to(b, replica_dir(dir), dir);
}

// The replicator reads the database through its connections' own files (vfs/shim/lent_db_files.h),
// not a descriptor of its own: closing the connection whose file it read first must not stop it,
// and SQLite's memory-mapped reads of a lent file must not move under the replicator's reads.
TEST_CASE("the replicator reads the database through whichever connection is still open",
          "[write]") {
  const std::string dir = scratch_dir("lent-files");
  auto a = std::make_unique<Db>(primary_uri(dir));  // its file is lent first
  Db b(primary_uri(dir));
  b.exec("PRAGMA mmap_size=268435456");
  a->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  a->exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
      "INSERT INTO t(v) SELECT randomblob(3000) FROM n");
  a.reset();
  // A whole-database file needs every page from the database file: another process writes
  // behind ltx's back, after a checkpoint put every page there.
  b.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const uint64_t full_files = stats_of(b)["full_files"].get<uint64_t>();
  REQUIRE(run_command("sqlite3 " + dir +
                      "/app.db \"UPDATE t SET v = randomblob(3000) WHERE id % 7 = 0\"") == 0);
  for (int i = 0; i < 20; ++i) {
    b.exec("UPDATE t SET v = randomblob(3000) WHERE id = " + std::to_string(1 + i * 13));
    CHECK(b.query_int("SELECT count(*) FROM t WHERE length(v) = 3000") == 300);  // mapped reads
    if (i % 5 == 4) b.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  CHECK(stats_of(b)["full_files"].get<uint64_t>() > full_files);
  check_restores_to(b, replica_dir(dir), dir);
}

TEST_CASE("writes by a process without ltx are caught and shipped as a full file", "[write]") {
  const std::string dir = scratch_dir("foreign");
  {
    Db db(primary_uri(dir));
    db.exec("CREATE TABLE t(v); INSERT INTO t VALUES ('through ltx')");
  }
  // Another process writes without the VFS while nobody replicates.
  REQUIRE(run_command("sqlite3 " + dir + "/app.db \"INSERT INTO t VALUES ('behind its back')\"") ==
          0);
  Db db(primary_uri(dir));
  db.exec("INSERT INTO t VALUES ('through ltx again')");
  check_restores_to(db, replica_dir(dir), dir);
  // And while the replicating connection is open: another process commits in the same WAL.
  REQUIRE(run_command("sqlite3 " + dir + "/app.db \"INSERT INTO t VALUES ('concurrent')\"") == 0);
  db.exec("INSERT INTO t VALUES ('after')");
  check_restores_to(db, replica_dir(dir), dir);
  CHECK(db.query_int("SELECT count(*) FROM t") == 5);
}

TEST_CASE("a TRUNCATE checkpoint or a rolled-back restart ships no whole-database file",
          "[write]") {
  const std::string dir = scratch_dir("truncate");
  Db db(primary_uri(dir, "&upload_interval_ms=0"));
  db.exec(
      "CREATE TABLE t(v); CREATE TABLE u(v); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
      "i + 1 FROM n WHERE i < 40) INSERT INTO t SELECT randomblob(3000) FROM n");
  const auto full_files = [&] { return stats_of(db)["full_files"].get<uint64_t>(); };
  const uint64_t at_start = full_files();
  for (int i = 0; i < 3; ++i) {
    // The WAL is emptied, truncated and restarted by the checkpoint, not by the next commit.
    REQUIRE(db.query_int("PRAGMA wal_checkpoint(TRUNCATE)") == 0);  // not busy
    REQUIRE(std::filesystem::file_size(dir + "/app.db-wal") == 0);
    db.exec("INSERT INTO t VALUES ('after truncate " + std::to_string(i) + "')");
    check_restores_to(db, replica_dir(dir), dir);
  }
  // A transaction restarts the WAL (every frame checkpointed) and rolls back.
  db.exec("PRAGMA wal_checkpoint(PASSIVE); PRAGMA cache_size=2");
  db.exec(
      "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) "
      "INSERT INTO t SELECT randomblob(4000) FROM n; ROLLBACK");
  db.exec("INSERT INTO t VALUES ('after a rolled-back restart')");
  check_restores_to(db, replica_dir(dir), dir);
  CHECK(full_files() == at_start);

  // A commit by another process before the checkpoint: the generation did not end where the
  // builder stands, and the next commit ships the whole database, as before the checkpoint.
  REQUIRE(run_command("sqlite3 " + dir + "/app.db \"INSERT INTO t VALUES ('not through ltx')\"") ==
          0);
  REQUIRE(db.query_int("PRAGMA wal_checkpoint(TRUNCATE)") == 0);  // not busy
  db.exec("INSERT INTO t VALUES ('after')");
  check_restores_to(db, replica_dir(dir), dir);
  CHECK(full_files() == at_start + 1);
  CHECK(db.query_int("SELECT count(*) FROM t WHERE v = 'not through ltx'") == 1);

  // And after the restart: another process commits in the new generation (a page the next
  // commit does not rewrite) and truncates it again, so the next commit through ltx also begins
  // a generation; not the one the builder was told of.
  REQUIRE(db.query_int("PRAGMA wal_checkpoint(TRUNCATE)") == 0);
  REQUIRE(run_command("sqlite3 " + dir +
                      "/app.db \"INSERT INTO u VALUES ('not through ltx either'); PRAGMA "
                      "wal_checkpoint(TRUNCATE)\" >/dev/null") == 0);
  db.exec("INSERT INTO t VALUES ('after them')");
  check_restores_to(db, replica_dir(dir), dir);
  CHECK(full_files() == at_start + 2);
}

TEST_CASE(
    "a commit into an empty WAL waits only for the first build, a WAL restart for the pipeline",
    "[write]") {
  // Issue 18: every first commit after an open waited for the pipeline and an fdatasync of the
  // spool (a WAL header at offset 0), though a WAL just created holds no frame to overwrite. Now
  // it waits only for the open's first build (the next test says why). Restarts and truncations,
  // which do drop frames, still wait for everything.
  const std::string dir = scratch_dir("empty-wal");
  for (int session = 0; session < 2; ++session) {
    Db db(primary_uri(dir));
    const auto waits = [&] { return stats_of(db)["overwrite_waits"].get<uint64_t>(); };
    if (session == 0) db.exec("CREATE TABLE t(v)");
    // The WAL is created by this commit (the last close deleted it): nothing to keep.
    db.exec("INSERT INTO t VALUES (randomblob(3000))");
    REQUIRE(std::filesystem::file_size(dir + "/app.db-wal") > 0);
    CHECK(waits() == 0);
    // Every frame checkpointed, the file still holding them: the next commit restarts the WAL
    // over them, and waits for them to be spooled.
    REQUIRE(db.query_int("PRAGMA wal_checkpoint(PASSIVE)") == 0);
    db.exec("INSERT INTO t VALUES (randomblob(3000))");
    CHECK(waits() == 1);
    // A TRUNCATE checkpoint waits as it truncates; the commit into the emptied file does not.
    REQUIRE(db.query_int("PRAGMA wal_checkpoint(TRUNCATE)") == 0);
    CHECK(waits() == 2);
    db.exec("INSERT INTO t VALUES ('into the emptied WAL " + std::to_string(session) + "')");
    CHECK(waits() == 2);
    check_restores_to(db, replica_dir(dir), dir);
  }
}

// Cause: since the first commit after an open stopped waiting for the pipeline (0619ebf), it did
// not wait for the open's first build either; a build running late read the commits already in
// the WAL and shipped them as one TXID ("holds TXID 2", expected 3, in CI under load). Commits in
// a row right after each open, on fresh databases: one TXID each, every time.
TEST_CASE("a history's first TXIDs are one per commit, however late the open's first build",
          "[write]") {
  const std::string dir = scratch_dir("first-txids");
  int merged = 0;
  for (int i = 0; i < test_rounds(200); ++i) {
    Db db("file:" + dir + "/db" + std::to_string(i) + ".db?vfs=ltx");
    db.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)");
    // TXID 1: the open's snapshot of the database (switched to WAL mode, one page).
    if (db.query_int("SELECT ltx_txid()") != 4) ++merged;
  }
  CHECK(merged == 0);
}

TEST_CASE("a WAL holding only its header at open ships no whole-database file", "[write]") {
  const std::string dir = scratch_dir("header-only-wal");
  std::vector<uint8_t> header;
  {
    Db db(primary_uri(dir, "&upload_interval_ms=0"));
    db.exec("CREATE TABLE t(v); INSERT INTO t VALUES (randomblob(5000))");
    header = read_file_bytes(dir + "/app.db-wal");
    header.resize(32);
  }
  // What a writer killed between a restart's header and its first frame leaves: SQLite ignores
  // such a WAL (and writes a header with other salts at its next commit).
  REQUIRE(!std::filesystem::exists(dir + "/app.db-wal"));
  std::ofstream(dir + "/app.db-wal", std::ios::binary)
      .write(reinterpret_cast<const char*>(header.data()), 32);
  Db db(primary_uri(dir, "&upload_interval_ms=0"));
  const uint64_t at_open = stats_of(db)["full_files"].get<uint64_t>();
  db.exec("INSERT INTO t VALUES ('after the open')");
  check_restores_to(db, replica_dir(dir), dir);
  CHECK(stats_of(db)["full_files"].get<uint64_t>() == at_open);
}

TEST_CASE("reopening continues the same history without a new snapshot", "[write]") {
  const std::string dir = scratch_dir("reopen");
  int64_t txid = 0;
  {
    Db db(primary_uri(dir));
    db.exec("CREATE TABLE t(v)");
    txid = db.query_int("SELECT ltx_txid()");
  }
  for (int round = 0; round < 3; ++round) {
    Db db(primary_uri(dir));
    db.exec("INSERT INTO t VALUES (" + std::to_string(round) + ")");
    // Each reopen continues the history: the next TXID, no full file.
    CHECK(db.query_int("SELECT ltx_txid()") == ++txid);
    CHECK_THAT(db.query_text("SELECT ltx_stats()"), Catch::Contains("\"full_files\":0"));
  }
  Db db(primary_uri(dir));
  auto stats = db.query_text("SELECT ltx_stats()");
  INFO(stats);
  CHECK(db.query_int("SELECT ltx_txid()") == txid);
  CHECK_THAT(stats, Catch::Contains("\"full_files\":0"));
  auto opened = ltxvfs::storage::open_store(replica_dir(dir));
  auto files = ltxvfs::history::list_ltx_files(*opened.store, opened.layout);
  // Level 0 holds what was uploaded (the history engine adds compactions at higher levels): one
  // chain from TXID 1 to the last, without a second snapshot. Usually one file per TXID, but a
  // close whose upload ran out of close_timeout_ms (seen with the disk saturated by another
  // process: L0:1-2 L0:3-3 ...) leaves its commit to the next open, which uploads it with its own.
  std::string listing;
  for (const auto& f : files) {
    listing += " L" + std::to_string(f.level) + ":" + std::to_string(f.min_txid) + "-" +
               std::to_string(f.max_txid);
  }
  INFO("files:" + listing);
  std::erase_if(files, [](const auto& f) { return f.level != 0; });
  REQUIRE(!files.empty());
  CHECK(files.front().min_txid == 1);
  CHECK(files.back().max_txid == static_cast<uint64_t>(txid));
  for (size_t i = 1; i < files.size(); ++i) CHECK(files[i].min_txid == files[i - 1].max_txid + 1);
  check_restores_to(db, replica_dir(dir), dir);
}

TEST_CASE("a replica location written by another database is refused", "[write][shell]") {
  const std::string dir = scratch_dir("foreign-replica");
  const std::string shared = dir + "/shared-replica";
  {
    Db a("file:" + dir + "/a.db?vfs=ltx&durability=remote&replica=" + shared);
    a.exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
  }
  std::string out;
  run_sqlite3_shell(
      ".open file:" + dir + "/b.db?vfs=ltx&replica=" + shared + "\nCREATE TABLE u(v);", &out);
  auto opened = ltxvfs::storage::open_store(shared);
  const auto files = ltxvfs::history::list_ltx_files(*opened.store, opened.layout);
  REQUIRE_FALSE(files.empty());
  CHECK_THAT(out, Catch::Contains("already holds a replica at TXID " +
                                  std::to_string(files.back().max_txid)) &&
                      Catch::Contains("did not write") && Catch::Contains("mode=ro"));
  // Nothing of b reached the replica: the files are a's (written before b's attempt).
  for (const auto& f : files) CHECK(f.last_modified_ms <= files.back().last_modified_ms);
  CHECK(ltxvfs::history::list_ltx_files(*opened.store, opened.layout).size() == files.size());
}

TEST_CASE("format=litestream writes exactly what Litestream v0.5 reads", "[write]") {
  const std::string dir = scratch_dir("litestream-format");
  {
    Db db(primary_uri(dir, "&format=litestream"));
    db.exec("CREATE TABLE t(v); INSERT INTO t VALUES (randomblob(10000))");
  }
  auto opened = ltxvfs::storage::open_store(replica_dir(dir));
  auto files = ltxvfs::history::list_ltx_files(*opened.store, opened.layout);
  // The CREATE and the INSERT (and, depending on timing, the empty database WAL mode created).
  REQUIRE(files.size() >= 2);
  for (const auto& f : files) {
    // Litestream's directory layout: ltx/<level>/<min>-<max>.ltx. The uploads are level 0; a
    // level-1 compaction of them appears when the history engine ran while they existed.
    CHECK(f.key.rfind("ltx/" + std::to_string(f.level) + "/", 0) == 0);
    auto got = opened.store->get(f.key);
    ltxvfs::ltx::MemorySource source(got.body);
    ltxvfs::ltx::Decoder dec(source, f.key);
    CHECK(dec.header().flags == ltxvfs::ltx::kHeaderFlagNoChecksum);
    CHECK(dec.header().pre_apply_checksum == 0);
    while (dec.next()) {
    }
    CHECK(dec.trailer().post_apply_checksum == 0);
    // Page frames use the LZ4 frame encoding: page header flags 0.
    for (const auto& e : dec.index().entries) {
      const uint16_t flags =
          static_cast<uint16_t>(got.body[e.offset + 4] << 8 | got.body[e.offset + 5]);
      CHECK(flags == 0);
    }
    CHECK_FALSE(got.metadata["litestream-timestamp"].empty());
  }
}

TEST_CASE("restore by timestamp and by TXID through the ltxvfs tool", "[write]") {
  const std::string dir = scratch_dir("restore-time");
  auto now_rfc3339 = [] {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    return ltxvfs::base::format_rfc3339_ms(ms.count());
  };
  std::vector<std::pair<std::string, std::vector<uint8_t>>> moments;  // time after each commit
  uint64_t txid_of_second = 0;
  {
    Db db(primary_uri(dir));
    db.exec("CREATE TABLE t(v)");
    for (int i = 0; i < 3; ++i) {
      db.exec("INSERT INTO t VALUES (" + std::to_string(i) + ")");
      if (i == 1) txid_of_second = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      moments.emplace_back(now_rfc3339(), db.serialize());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  for (size_t i = 0; i < moments.size(); ++i) {
    const std::string out = dir + "/at-" + std::to_string(i) + ".db";
    std::string log;
    REQUIRE(run_command(std::string(LTXVFS_CLI_PATH) + " restore " + replica_dir(dir) + " -o " +
                            out + " --timestamp " + moments[i].first,
                        &log) == 0);
    INFO(log);
    CHECK_THAT(log, Catch::Contains("integrity_check: ok"));
    CHECK(describe_difference(read_file_bytes(out), moments[i].second) == "identical");
  }
  const std::string by_txid = dir + "/by-txid.db";
  REQUIRE(run_command(std::string(LTXVFS_CLI_PATH) + " restore " + replica_dir(dir) + " -o " +
                      by_txid + " --txid " + std::to_string(txid_of_second)) == 0);
  CHECK(describe_difference(read_file_bytes(by_txid), moments[1].second) == "identical");
  // Before the first commit there is nothing to restore: a clear refusal.
  std::string log;
  CHECK(run_command(std::string(LTXVFS_CLI_PATH) + " restore " + replica_dir(dir) + " -o " + dir +
                        "/none.db --timestamp 2001-01-01T00:00:00Z",
                    &log) != 0);
  CHECK_THAT(log, Catch::Contains("newer than the requested time"));
}

// Issue 18: one replica setting for every tenant. Two databases of the same name in different
// directories, and a third, opened with the same templated replica=, land in locations of their
// own.
TEST_CASE("a templated replica= gives each database its own location", "[write]") {
  load_ltx_extension();
  const std::string dir = scratch_dir("tenants");
  std::filesystem::create_directories(dir + "/data/eu");
  std::filesystem::create_directories(dir + "/data/us");
  const std::string tmpl = "&replica=file://" + dir + "/rep/{path}&replica_root=" + dir + "/data";
  Db eu("file:" + dir + "/data/eu/t.db?vfs=ltx&durability=remote&upload_interval_ms=0" + tmpl);
  Db us("file:" + dir + "/data/us/t.db?vfs=ltx&durability=remote&upload_interval_ms=0" + tmpl);
  Db other("file:" + dir + "/data/eu/u.db?vfs=ltx&durability=remote&upload_interval_ms=0&replica=" +
           "file://" + dir + "/rep2/{name}");
  eu.exec("CREATE TABLE t(x); INSERT INTO t VALUES ('eu');");
  us.exec("CREATE TABLE t(x); INSERT INTO t VALUES ('us'); INSERT INTO t VALUES ('us');");
  other.exec("CREATE TABLE u(y); INSERT INTO u VALUES (1);");
  check_restores_to(eu, dir + "/rep/eu/t.db", dir);
  check_restores_to(us, dir + "/rep/us/t.db", dir);
  check_restores_to(other, dir + "/rep2/u.db", dir);
}

// The snapshot the upload asks for when the store lacks the history before the spool (here: the
// database moved to an empty replica location) is built by a run no commit asked for, while the
// application goes on committing, checkpointing and restarting the WAL. Until now only the
// builder's synthetic tests covered that path (checkpoint_gate_test.cpp). Every TXID the new
// location can restore must be exactly what SQLite saw at that TXID. It did not reproduce the
// race those synthetic tests pin down (frames a restart overwrote while the snapshot read them):
// with that check removed it passed 15 runs of 15; it checks the path end to end.
TEST_CASE("a snapshot asked for while the WAL restarts restores to what SQLite saw", "[write]") {
  const std::string dir = scratch_dir("snapshot-restarts");
  const auto spool_starts = [&] {
    uint64_t first = UINT64_MAX;
    for (const auto& e : fs::directory_iterator(dir + "/app.db-ltx/spool")) {
      if (e.path().extension() == ".ltxlog") {
        first = std::min<uint64_t>(first, std::stoull(e.path().stem().string(), nullptr, 16));
      }
    }
    return first;
  };
  // The move asks for a snapshot only when the spool no longer starts at TXID 1 (else it uploads
  // the spool's own history). A log goes once its records are uploaded, it is past 1 MiB and a
  // newer log holds the position; with uploads behind the commits (a loaded machine) the log
  // holding a snapshot can outlive a session. Commits that each wait for their upload settle it.
  const auto settle = [&](const std::string& location) {
    Db db("file:" + dir +
          "/app.db?vfs=ltx&durability=remote&upload_interval_ms=0&replica=" + location);
    for (int i = 0; i < 20 && spool_starts() == 1; ++i) {
      db.exec("UPDATE t SET v = randomblob(1500) WHERE k = " + std::to_string(i + 1));
    }
  };
  {
    Db db(primary_uri(dir));
    db.exec(
        "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION "
        "ALL SELECT i + 1 FROM n WHERE i < 1500) INSERT INTO t SELECT i, randomblob(1500) FROM n");
  }
  std::string location = replica_dir(dir);
  // Three moves, a snapshot each, each raced by the application's checkpoints differently.
  for (int move = 0; move < 3; ++move) {
    settle(location);
    REQUIRE(spool_starts() > 1);
    const std::string moved = dir + "/moved-" + std::to_string(move);
    location = moved;
    std::map<uint64_t, std::vector<uint8_t>> seen;  // TXID -> the image SQLite saw
    {
      Db db("file:" + dir + "/app.db?vfs=ltx&upload_interval_ms=0&replica=" + moved);
      std::mt19937 rng(static_cast<unsigned>(7 + move));
      // The first commit rewrites every row: the snapshot it leads to reads ~750 frames from the
      // WAL, which the checkpoints and commits after it restart and overwrite.
      db.exec("UPDATE t SET v = randomblob(1500)");
      seen[static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"))] = db.serialize();
      for (int i = 0; i < test_rounds(40); ++i) {
        db.exec("UPDATE t SET v = randomblob(1500) WHERE k % 97 = " + std::to_string(rng() % 97));
        if ((i + move) % 3 == 0) db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
        if ((i + move) % 3 == 1) db.exec("PRAGMA wal_checkpoint(RESTART)");
        if (i % 4 == 0)
          seen[static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"))] = db.serialize();
      }
      seen[static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"))] = db.serialize();
    }
    INFO("move " << move << " to " << moved);
    // The TXIDs the new location can restore: the end of each file its head commits.
    std::set<uint64_t> restorable;
    int from_first_txid = 0;
    auto opened = ltxvfs::storage::open_store(moved);
    for (const auto& f : ltxvfs::history::read_history(*opened.store, opened.layout).files) {
      restorable.insert(f.max_txid);
      from_first_txid += f.min_txid == 1 ? 1 : 0;
    }
    // The spool starts after TXID 1, so only a snapshot gives the new location a file from TXID 1:
    // the path under test ran. Read from the store after the close, not from the stats before
    // it: on a slow machine (ASan in CI) the snapshot is often still ahead of the uploader then.
    CHECK(from_first_txid >= 1);
    int compared = 0;
    for (const auto& [txid, image] : seen) {
      if (restorable.count(txid) == 0) continue;
      INFO("TXID " << txid);
      CHECK(describe_difference(restore_replica(moved, txid, dir), image) == "identical");
      ++compared;
    }
    CHECK(compared >= 2);  // the newest at least, and one from the rounds
  }
}
