#include "extension/connection_init.h"

#include <string>

#include "extension/sql_functions.h"

namespace ltxvfs::extension {
namespace {

// Runs for every connection opened after the extension was loaded (sqlite3_auto_extension).
// An error here makes sqlite3_open_v2() fail with `*error` as its message.
int on_connection(sqlite3* db, char** error, const sqlite3_api_routines*) {
  int rc = register_sql_functions(db);
  if (rc != SQLITE_OK) {
    *error = sqlite3_mprintf("ltx: cannot register SQL functions: %s", sqlite3_errmsg(db));
    return rc;
  }
  // WAL mode is the VFS's job (vfs/shim/wal_mode.h): correctness must not depend on this hook,
  // which sqlite3_reset_auto_extension() and sqlite3_shutdown() remove.
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
