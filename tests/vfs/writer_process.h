// For the writer processes the tests spawn (crash_writer, lease_writer): loads the extension the
// way an application would, so `vfs=ltx` is registered for the rest of the process.
#pragma once

#include <sqlite3.h>

#include <cstdio>

// Returns false (the reason on stderr) when the extension cannot be loaded.
inline bool load_ltx_extension_into_process() {
  sqlite3* loader = nullptr;
  sqlite3_open(":memory:", &loader);
  sqlite3_enable_load_extension(loader, 1);
  char* error = nullptr;
  const bool ok =
      sqlite3_load_extension(loader, LTXVFS_EXTENSION_PATH, nullptr, &error) == SQLITE_OK;
  if (!ok) std::fprintf(stderr, "load: %s\n", error);
  sqlite3_free(error);
  // The VFS stays registered after the loading connection closes.
  sqlite3_close(loader);
  return ok;
}
