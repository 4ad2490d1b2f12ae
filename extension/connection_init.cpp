#include "extension/connection_init.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "extension/sql_functions.h"
#include "vfs/shim/primary_connection.h"

namespace ltxvfs::extension {
namespace {

// The replicator of the connection's main database, or null when it is not replicated.
core::Replicator* replicator_of(sqlite3* db) {
  core::Replicator* r = nullptr;
  if (sqlite3_file_control(db, "main", vfs::kFcntlLtxReplicator, &r) != SQLITE_OK) return nullptr;
  return r;
}

// A replicated database must be in WAL mode: ltx sees commits through the WAL. A new database
// gets its page size first (page_size= URI parameter): WAL mode fixes it.
int ensure_wal_mode(sqlite3* db, char** error) {
  const char* page_size = sqlite3_uri_parameter(sqlite3_db_filename(db, "main"), "page_size");
  if (page_size != nullptr) {
    const std::string sql = "PRAGMA main.page_size=" + std::to_string(std::atoi(page_size));
    sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  // Other connections may hold locks right now; the application has not had a chance to set a
  // busy handler yet. Wait a little like it would, then restore SQLite's default (none).
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA main.journal_mode=WAL", -1, &stmt, nullptr);
  std::string mode;
  if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) mode = reinterpret_cast<const char*>(text);
  }
  const std::string why = sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_busy_timeout(db, 0);
  if (mode == "wal") return SQLITE_OK;
  *error = sqlite3_mprintf(
      "ltx: cannot put %s in WAL mode (%s); ltx replicates WAL-mode databases only",
      sqlite3_db_filename(db, "main"), mode.empty() ? why.c_str() : ("it stayed " + mode).c_str());
  return SQLITE_ERROR;
}

// Runs for every connection opened after the extension was loaded (sqlite3_auto_extension).
// An error here makes sqlite3_open_v2() fail with `*error` as its message.
int on_connection(sqlite3* db, char** error, const sqlite3_api_routines*) {
  int rc = register_sql_functions(db);
  if (rc != SQLITE_OK) {
    *error = sqlite3_mprintf("ltx: cannot register SQL functions: %s", sqlite3_errmsg(db));
    return rc;
  }
  if (replicator_of(db) != nullptr) return ensure_wal_mode(db, error);
  return SQLITE_OK;
}

}  // namespace

int install(sqlite3* db, std::string& error) {
  char* message = nullptr;
  int rc = on_connection(db, &message, nullptr);
  if (rc != SQLITE_OK) {
    error = message != nullptr ? message : "ltx: connection setup failed";
    sqlite3_free(message);
    return rc;
  }
  rc = sqlite3_auto_extension(reinterpret_cast<void (*)(void)>(on_connection));
  if (rc != SQLITE_OK) error = "ltx: sqlite3_auto_extension failed";
  return rc;
}

}  // namespace ltxvfs::extension
