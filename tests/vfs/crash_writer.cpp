// A writer for the crash tests: commits random transactions through the ltx VFS until it is
// killed, and writes one byte to stdout once its first transaction is committed (so the test kills
// it while it works, not while the process starts).
//
// Every transaction bumps meta.n and records in hist(n, digest) a digest of table t as that
// transaction left it: any restored copy of the database can then show it is a state the writer
// really committed (its t matches its own newest hist row), and which one.
// argv: <database path> <seed> [extra URI parameters]
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

#include "tests/vfs/writer_process.h"

namespace {

constexpr const char* kRecord =
    "UPDATE meta SET n = n + 1;"
    "INSERT INTO hist SELECT (SELECT n FROM meta), (SELECT count(*) || ':' || total(k) || ':' || "
    "total(length(v)) FROM t);";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: crash_writer <db> <seed> [uri-params]\n");
    return 2;
  }
  if (!load_ltx_extension_into_process()) return 1;
  char* error = nullptr;
  const std::string uri =
      std::string("file:") + argv[1] + "?vfs=ltx&upload_interval_ms=0" + (argc > 3 ? argv[3] : "");
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(uri.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                      nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "open: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_busy_timeout(db, 5000);
  std::mt19937 rng(static_cast<unsigned>(std::stoul(argv[2])));
  if (sqlite3_exec(db,
                   // One transaction: a replica holds the whole schema or none of it.
                   "BEGIN;"
                   "CREATE TABLE IF NOT EXISTS t(k INTEGER, v BLOB);"
                   "CREATE TABLE IF NOT EXISTS meta(n INTEGER);"
                   "INSERT INTO meta SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM meta);"
                   "CREATE TABLE IF NOT EXISTS hist(n INTEGER PRIMARY KEY, digest TEXT);"
                   "COMMIT;",
                   nullptr, nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "schema: %s\n", error);
    return 1;
  }
  bool announced = false;
  for (long i = 0;; ++i) {
    std::string body;
    switch (rng() % 5) {
      case 0:
        body = "INSERT INTO t VALUES (" + std::to_string(i) + ", randomblob(" +
               std::to_string(rng() % 5000) + "));";
        break;
      case 1:
        body =
            "INSERT INTO t SELECT k + 1000000, randomblob(100) FROM t LIMIT 20; "
            "UPDATE t SET v = randomblob(10) WHERE k % 7 = " +
            std::to_string(rng() % 7) + ";";
        break;
      case 2:
        body = "DELETE FROM t WHERE k % 11 = " + std::to_string(rng() % 11) + ";";
        break;
      case 3:
        body = "";  // a checkpoint, outside a transaction
        break;
      default:
        body = "UPDATE t SET v = randomblob(" + std::to_string(rng() % 3000) +
               ") WHERE rowid = " + std::to_string(rng() % 50) + ";";
    }
    const std::string sql = body.empty() ? "PRAGMA wal_checkpoint(" +
                                               std::string(rng() % 2 ? "PASSIVE" : "TRUNCATE") + ")"
                                         : "BEGIN; " + body + kRecord + " COMMIT;";
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::fprintf(stderr, "%s: %s\n", sql.c_str(), error);
      sqlite3_free(error);
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    } else if (!announced && !body.empty()) {
      announced = true;
      [[maybe_unused]] ssize_t ignored = ::write(STDOUT_FILENO, "R", 1);
    }
  }
}
