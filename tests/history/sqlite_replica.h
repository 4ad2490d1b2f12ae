// A real SQLite database whose transactions are shipped as level-0 LTX files, as the writer
// would, for history tests that need SQLite's own pages (the CLI's restores, the head's schema
// root hints).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>

#include "history_support.h"
#include "ltx/checksum.h"

namespace historytest {

// Runs `sql` on `db`; a failure fails the test with SQLite's message.
void exec_sql(sqlite3* db, const std::string& sql);

Bytes read_bytes(const std::string& path);

// A real SQLite database (WAL mode, checkpointed after every statement) whose every statement is
// shipped as one level-0 LTX file, as the writer would: the pages that changed since the last
// one (all of them for TXID 1).
class SqliteReplica {
 public:
  SqliteReplica(const std::string& dir, ObjectStore& store, LayoutStyle layout, OutputFormat format)
      : path_(dir + "/source.db"), store_(store), layout_(layout), format_(format) {
    REQUIRE(sqlite3_open(path_.c_str(), &db_) == SQLITE_OK);
    exec_sql(db_, "PRAGMA journal_mode=WAL");
  }
  ~SqliteReplica() { sqlite3_close(db_); }
  sqlite3* db() const { return db_; }

  // Runs `sql` and uploads the transaction; returns its TXID.
  uint64_t exec(const std::string& sql);
  const Bytes& image(uint64_t txid) const { return images_.at(txid); }
  uint64_t txid() const { return txid_; }

 private:
  std::string path_;
  ObjectStore& store_;
  LayoutStyle layout_;
  OutputFormat format_;
  sqlite3* db_ = nullptr;
  uint64_t txid_ = 0;
  Bytes last_;
  ltxvfs::ltx::DatabaseChecksum sum_;
  std::map<uint64_t, Bytes> images_;
};

}  // namespace historytest
