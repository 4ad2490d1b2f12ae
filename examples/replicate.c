/* A C program that replicates its database through ltxvfs.
 *
 *   cc replicate.c -lsqlite3 -o replicate
 *   LTX_REPLICA_URL=s3://my-bucket/app ./replicate app.db /path/to/libltxvfs.so
 *
 * Without LTX_REPLICA_URL the database replicates to app.db-ltx/replica (a local directory). */
#include <sqlite3.h>
#include <stdio.h>

static int check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
  return rc;
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "app.db";
  const char* extension = argc > 2 ? argv[2] : "libltxvfs";
  sqlite3* loader = NULL;
  sqlite3* db = NULL;
  char* error = NULL;

  /* Load the extension once per process; it registers the "ltx" VFS for every connection. */
  sqlite3_open(":memory:", &loader);
  sqlite3_enable_load_extension(loader, 1);
  if (sqlite3_load_extension(loader, extension, NULL, &error) != SQLITE_OK) {
    fprintf(stderr, "load %s: %s\n", extension, error);
    return 1;
  }
  sqlite3_close(loader);

  /* The only change an application makes: the VFS name. */
  if (check(db, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "ltx"),
            "open") != SQLITE_OK) {
    return 1;
  }
  if (check(db,
            sqlite3_exec(db,
                         "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, what TEXT);"
                         "INSERT INTO events(what) VALUES ('started');"
                         "INSERT INTO events(what) VALUES ('did some work');",
                         NULL, NULL, NULL),
            "write") != SQLITE_OK) {
    return 1;
  }
  sqlite3_stmt* stmt = NULL;
  sqlite3_prepare_v2(db, "SELECT ltx_txid()", -1, &stmt, NULL);
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    printf("committed through TXID %lld\n", (long long)sqlite3_column_int64(stmt, 0));
  }
  sqlite3_finalize(stmt);
  /* Closing waits (up to close_timeout_ms) for the uploads to finish. */
  return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
}
