/* Compiled into testfixture as SQLITE_EXTRA_INIT (see testfixture.mk). SQLite calls it at the end
 * of every sqlite3_initialize() that did initialize: the first one, and each one after a test
 * script's sqlite3_shutdown() — which drops the auto-extensions and lets os_unix.c register `unix`
 * as the default VFS again. Loading the extension only once, from Tcl, would therefore let part of
 * a script (wal.test, sort.test, pager1.test, walro.test ...) run on plain `unix` unnoticed.
 *
 * With LTXVFS_TEST_EXTENSION naming libltxvfs.so it loads the extension (which registers `ltx`
 * and its auto-extension; with LTXVFS_DEFAULT_VFS=1 as the default VFS) and makes sure `ltx` is
 * the default VFS. Without the variable it does nothing: the baseline run uses the same binary on
 * `unix`.
 *
 * The variable is removed from the environment at the first initialization, so child testfixture
 * processes (do_multiclient_test's code2/code3, crash tests) run on `unix`. Through ltx a second
 * writing process is refused by design, which would end each such script at its first
 * multi-process test; writing behind ltx's back instead exercises how ltx regains continuity
 * with a database changed by a process that did not load it.
 *
 * A failure aborts the process: a run that silently fell back to `unix` would prove nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "sqlite3.h"

int ltx_test_autoload(const char* unused) {
  (void)unused;
  /* The first call comes before the extension is loaded, so before any of its threads reads the
   * environment: the only safe moment to change it. */
  static char path[4096];
  static int first = 1;
  if (first) {
    first = 0;
    const char* env = getenv("LTXVFS_TEST_EXTENSION");
    if (env != NULL) {
      if (snprintf(path, sizeof path, "%s", env) >= (int)sizeof path) {
        fprintf(stderr, "ltx_autoload: LTXVFS_TEST_EXTENSION is too long\n");
        abort();
      }
      unsetenv("LTXVFS_TEST_EXTENSION");
    }
  }
  if (path[0] == '\0') return SQLITE_OK;

  sqlite3* db = NULL;
  char* error = NULL;
  int rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "unix");
  if (rc == SQLITE_OK) rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_load_extension(db, path, "sqlite3_ltxvfs_init", &error);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "ltx_autoload: cannot load %s: %s\n", path,
            error != NULL ? error : sqlite3_errstr(rc));
    abort();
  }
  sqlite3_close(db);

  sqlite3_vfs* ltx = sqlite3_vfs_find("ltx");
  if (ltx == NULL) {
    fprintf(stderr, "ltx_autoload: %s loaded but registered no VFS named ltx\n", path);
    abort();
  }
  /* The first load must make ltx the default by itself, through LTXVFS_DEFAULT_VFS=1: that is
   * what this stage tests. After a re-initialization `unix` is the default again and the
   * extension, already registered, leaves the order alone: put ltx back in front. */
  static int loaded_before = 0;
  if (sqlite3_vfs_find(NULL) != ltx) {
    if (!loaded_before) {
      fprintf(stderr,
              "ltx_autoload: loading %s did not make ltx the default VFS;"
              " is LTXVFS_DEFAULT_VFS=1 set?\n",
              path);
      abort();
    }
    sqlite3_vfs_register(ltx, 1);
  }
  loaded_before = 1;
  return SQLITE_OK;
}
