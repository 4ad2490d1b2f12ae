// The loadable extension's entry point: `.load ./libltxvfs` in the sqlite3 shell,
// `conn.load_extension("libltxvfs")` in Python, or sqlite3_load_extension() in C.
#include <string>

#include "extension/connection_init.h"
#include "extension/metrics_file.h"
#include "vfs/shim/vfs_shim.h"

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

extern "C" __attribute__((visibility("default"))) int sqlite3_ltxvfs_init(
    sqlite3* db, char** error, const sqlite3_api_routines* api) {
  SQLITE_EXTENSION_INIT2(api);
  std::string message;
  int rc = ltxvfs::vfs::register_ltx_vfs(message);
  if (rc == SQLITE_OK) rc = ltxvfs::extension::install(db, message);
  if (rc == SQLITE_OK && !ltxvfs::extension::start_metrics_file_from_env(message))
    rc = SQLITE_ERROR;
  if (rc != SQLITE_OK) {
    if (error != nullptr) *error = sqlite3_mprintf("%s", message.c_str());
    return rc;
  }
  // Stay loaded: the VFS is registered process-wide and outlives this connection.
  return SQLITE_OK_LOAD_PERMANENTLY;
}
