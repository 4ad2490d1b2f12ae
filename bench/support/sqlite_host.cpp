#include "bench/support/sqlite_host.h"

#include <mutex>
#include <stdexcept>

namespace ltxvfs::bench {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error(what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

void load_extension(const std::string& path) {
  static std::once_flag once;
  std::call_once(once, [&] {
    sqlite3* db = nullptr;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) fail(db, "sqlite3_open");
    sqlite3_enable_load_extension(db, 1);
    char* error = nullptr;
    if (sqlite3_load_extension(db, path.c_str(), nullptr, &error) != SQLITE_OK) {
      const std::string message = error != nullptr ? error : "unknown error";
      sqlite3_free(error);
      sqlite3_close(db);
      throw std::runtime_error("cannot load " + path + ": " + message);
    }
    sqlite3_close(db);
  });
}

Connection::Connection(const std::string& uri, int flags) {
  if (sqlite3_open_v2(uri.c_str(), &db_, flags | SQLITE_OPEN_URI, nullptr) != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("open " + uri + ": " + message);
  }
  // Concurrent writers (W8) wait for the WAL write lock instead of failing.
  sqlite3_busy_timeout(db_, 30000);
}

Connection::~Connection() {
  sqlite3_close(db_);
}

void Connection::exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK) return;
  const std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
  sqlite3_free(error);
  throw std::runtime_error(sql.substr(0, 120) + ": " + message);
}

int64_t Connection::query_int(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) fail(db_, sql);
  if (sqlite3_step(stmt) != SQLITE_ROW) {
    const std::string message = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    throw std::runtime_error(sql + ": " + message);
  }
  const int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return v;
}

std::string Connection::query_text(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) fail(db_, sql);
  std::string out;
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    const std::string message = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    throw std::runtime_error(sql + ": " + message);
  }
  sqlite3_finalize(stmt);
  return out;
}

nlohmann::json Connection::ltx_stats() {
  const std::string text = query_text("SELECT ltx_stats()");
  return text.empty() ? nlohmann::json() : nlohmann::json::parse(text);
}

Statement::Statement(Connection& db, const std::string& sql) : db_(db.get()) {
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) fail(db_, sql);
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

void Statement::run() {
  const int rc = sqlite3_step(stmt_);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    const std::string message = std::string(sqlite3_sql(stmt_)) + ": " + sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    throw std::runtime_error(message);
  }
  sqlite3_reset(stmt_);
}

int64_t Statement::drain() {
  int64_t rows = 0;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt_)) == SQLITE_ROW) {
    for (int c = 0, n = sqlite3_column_count(stmt_); c < n; ++c) {
      switch (sqlite3_column_type(stmt_, c)) {
        case SQLITE_INTEGER:
          (void)sqlite3_column_int64(stmt_, c);
          break;
        case SQLITE_FLOAT:
          (void)sqlite3_column_double(stmt_, c);
          break;
        case SQLITE_TEXT:
          (void)sqlite3_column_text(stmt_, c);
          break;
        case SQLITE_BLOB:
          (void)sqlite3_column_blob(stmt_, c);
          break;
        default:
          break;
      }
    }
    ++rows;
  }
  if (rc != SQLITE_DONE) {
    const std::string message = std::string(sqlite3_sql(stmt_)) + ": " + sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    throw std::runtime_error(message);
  }
  sqlite3_reset(stmt_);
  return rows;
}

std::string db_uri(const std::string& path, const std::string& vfs, const std::string& params) {
  return "file:" + path + "?vfs=" + vfs + (params.empty() ? "" : "&" + params);
}

}  // namespace ltxvfs::bench
