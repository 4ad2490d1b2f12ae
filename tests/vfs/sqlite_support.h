// Test support for the SQLite-facing tests: a small RAII connection, the real libltxvfs.so loaded
// into this test process (a SQLite host that links libsqlite3), scratch directories, and restoring
// a replica to a TXID through the production restore code.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ltxvfs::testing {

// Loads build/libltxvfs.so once per process (sqlite3_load_extension on a scratch connection).
void load_ltx_extension();
// Loads it again: its auto-extension (the SQL functions) is back after a test removed it.
void reload_ltx_extension();

class Db {
 public:
  // Opens `uri` (a file: URI, SQLITE_OPEN_URI). Throws std::runtime_error with SQLite's message.
  explicit Db(const std::string& uri, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* get() const { return db_; }
  void exec(const std::string& sql);
  // Runs `sql`, returns the error message, or "" when it succeeded.
  std::string try_exec(const std::string& sql);
  int64_t query_int(const std::string& sql);
  std::string query_text(const std::string& sql);
  // The database image as SQLite sees it (WAL included): what a restore must reproduce.
  std::vector<uint8_t> serialize();

 private:
  sqlite3* db_ = nullptr;
};

// "file:<dir>/app.db?vfs=ltx&durability=remote&upload_interval_ms=0<extra>": every commit is
// uploaded before it returns, as its own object, so every TXID is restorable on its own.
std::string primary_uri(const std::string& dir, const std::string& extra = "");
// <dir>/app.db-ltx/replica: the default replica of primary_uri(dir).
std::string replica_dir(const std::string& dir);
// Restores `url` at the connection's newest TXID and checks it equals what SQLite sees.
void check_restores_to(Db& db, const std::string& url, const std::string& dir);

// ltx_stats() of the connection, parsed.
nlohmann::json stats_of(Db& db);
// The port of "http://127.0.0.1:<port>".
uint16_t port_of(const std::string& endpoint);

// A fresh directory under the build tree's scratch area; removed by the test's end only if the
// test passed (left for inspection otherwise).
std::string scratch_dir(const std::string& name);

// The number of rounds a statistical test (kills, races, repeated opens) runs: `full`, or a
// quarter of it when LTXVFS_TEST_QUICK=1. The release stage of CI runs the full counts; the
// sanitizer stage, ten times slower per round, runs the quick ones to stay inside CI's budget.
int test_rounds(int full);

std::vector<uint8_t> read_file_bytes(const std::string& path);

// Restores the replica at `url` to `txid` (newest when nullopt) into a fresh file and returns
// its bytes. Uses the same code as `ltxvfs restore`.
std::vector<uint8_t> restore_replica(const std::string& url, std::optional<uint64_t> txid,
                                     const std::string& work_dir);

// A description of how two database images differ ("identical", or the size and the first
// differing page), for assertions: Catch must not print megabytes of bytes.
std::string describe_difference(const std::vector<uint8_t>& actual,
                                const std::vector<uint8_t>& expected, uint32_t page_size = 0);

// Runs the sqlite3 shell with `script` on its standard input, after `.load`ing the extension.
// Returns its exit status; `output` receives stdout+stderr.
int run_sqlite3_shell(const std::string& script, std::string* output = nullptr);

// Runs a shell command; returns its exit status and captures stdout+stderr into `output`.
int run_command(const std::string& command, std::string* output = nullptr);

// Mounts a tmpfs of `size` at `path` for the scope (root only: mounted() says whether it worked);
// unmounts (lazily) at the end. For full disks and read-only file systems, which root cannot be
// given by permissions.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& path, const std::string& size);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }
  // Remounts it read-only; false when that failed.
  bool make_read_only();

 private:
  std::string path_;
  bool mounted_ = false;
};

}  // namespace ltxvfs::testing
