// A writer for the lease tests: waits until a given wall-clock time (so two of them open at the
// same moment), opens a database through ltx with a shared replica, commits, and reports.
// argv: <db> <replica-url> <start-at-ms> <commits> <hold-ms> [extra URI parameters]
// Exit 0: opened and committed (prints "opened" after its first commits, then "txid N"); 3: the
// open was refused (the reason is on stderr, from the extension's log); 1: anything else.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "tests/vfs/writer_process.h"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: lease_writer <db> <url> <start-at-ms> <commits> <hold-ms> [uri]\n");
    return 1;
  }
  if (!load_ltx_extension_into_process()) return 1;
  char* error = nullptr;
  const auto start_at =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(std::stoll(argv[3])));
  std::this_thread::sleep_until(start_at);
  const std::string uri = std::string("file:") + argv[1] + "?vfs=ltx&replica=" + argv[2] +
                          "&durability=remote&upload_interval_ms=0" + (argc > 6 ? argv[6] : "");
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(uri.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                      nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "open refused: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return 3;
  }
  sqlite3_busy_timeout(db, 5000);
  const int commits = std::stoi(argv[4]);
  if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t(v)", nullptr, nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "create: %s\n", error);
    sqlite3_free(error);
    sqlite3_close(db);
    return 1;
  }
  for (int i = 0; i < commits; ++i) {
    if (sqlite3_exec(db, "INSERT INTO t VALUES (randomblob(300))", nullptr, nullptr, &error) !=
        SQLITE_OK) {
      std::fprintf(stderr, "insert: %s\n", error);
      sqlite3_free(error);
      sqlite3_close(db);
      return 1;
    }
  }
  // Opened and committed: a test may start the next process now (it watches stdout).
  std::printf("opened\n");
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(argv[5])));
  for (int i = 0; i < commits; ++i) {
    sqlite3_exec(db, "INSERT INTO t VALUES (randomblob(300))", nullptr, nullptr, nullptr);
  }
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT ltx_txid()", -1, &stmt, nullptr);
  sqlite3_step(stmt);
  std::printf("txid %lld\n", static_cast<long long>(sqlite3_column_int64(stmt, 0)));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return 0;
}
