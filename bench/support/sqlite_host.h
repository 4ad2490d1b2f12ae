// The benchmark as a SQLite host: it links libsqlite3 and loads the real libltxvfs.so with
// sqlite3_load_extension, exactly as an application would. A small RAII connection and
// statement, and ltx_stats() as JSON.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace ltxvfs::bench {

// Loads the extension once per process; the `ltx` VFS is then registered process-wide.
// Throws std::runtime_error with SQLite's message.
void load_extension(const std::string& path);

class Connection {
 public:
  // Opens `uri` (a file: URI). Throws std::runtime_error naming the URI and SQLite's message.
  explicit Connection(const std::string& uri,
                      int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* get() const { return db_; }
  void exec(const std::string& sql);
  int64_t query_int(const std::string& sql);
  std::string query_text(const std::string& sql);
  // ltx_stats() parsed; a null json when the database is not replicated.
  nlohmann::json ltx_stats();

 private:
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  Statement(Connection& db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, const std::string& value);
  // Steps to completion (a statement without rows) and resets for the next use.
  void run();
  // Steps through every row (reading each row's columns, as an application would) and resets.
  // Returns the number of rows.
  int64_t drain();

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// "file:<path>?vfs=<vfs>[&<params>]" — the URI of a database file.
std::string db_uri(const std::string& path, const std::string& vfs, const std::string& params = "");

}  // namespace ltxvfs::bench
