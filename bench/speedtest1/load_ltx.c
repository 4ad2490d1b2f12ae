/* SQLite's own speedtest1 (test/speedtest1.c of the source the TCL suite fetches), with ltx's
 * VFS available: speedtest1 cannot load an extension itself, so this main() loads LTXVFS_SO
 * (when set) on a throwaway in-memory connection first. The extension stays loaded after that
 * connection closes (SQLITE_OK_LOAD_PERMANENTLY), and `--vfs ltx` then finds it. speedtest1.c is
 * compiled with -Dmain=speedtest1_main (bench/speedtest1/run.sh). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

int speedtest1_main(int argc, char** argv);

int main(int argc, char** argv) {
  const char* so = getenv("LTXVFS_SO");
  if (so != NULL && so[0] != '\0') {
    sqlite3* db = NULL;
    char* err = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_enable_load_extension(db, 1) != SQLITE_OK ||
        sqlite3_load_extension(db, so, NULL, &err) != SQLITE_OK) {
      fprintf(stderr, "speedtest1: cannot load %s: %s\n", so,
              err != NULL ? err : sqlite3_errmsg(db));
      return 1;
    }
    sqlite3_close(db);
  }
  return speedtest1_main(argc, argv);
}
