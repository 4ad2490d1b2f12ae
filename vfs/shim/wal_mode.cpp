#include "vfs/shim/wal_mode.h"

#include <string>

#include "vfs/shim/log.h"

namespace ltxvfs::vfs {
namespace {

// sqlite3_close() on scope exit.
struct Connection {
  sqlite3* db = nullptr;
  ~Connection() { sqlite3_close(db); }
};

std::string query_text(sqlite3* db, const char* sql, int* rc) {
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  *rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (*rc == SQLITE_OK) {
    *rc = sqlite3_step(stmt);
    if (*rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) out = reinterpret_cast<const char*>(text);
      *rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(stmt);
  return out;
}

}  // namespace

bool in_wal_mode(sqlite3_file* db_file) {
  sqlite3_int64 size = 0;
  if (db_file->pMethods->xFileSize(db_file, &size) != SQLITE_OK || size < 20) return false;
  unsigned char versions[2] = {};  // file format write/read versions at offset 18: 2 = WAL
  if (db_file->pMethods->xRead(db_file, versions, 2, 18) != SQLITE_OK) return false;
  return versions[0] == 2 && versions[1] == 2;
}

void ensure_wal_mode(sqlite3_vfs* base, sqlite3_file* db_file, const std::string& path,
                     uint32_t page_size) {
  if (in_wal_mode(db_file)) return;
  // A private connection through the wrapped VFS: it shares the process's locks on the file with
  // the connection being opened (which holds none yet), rolls back a hot journal if there is one,
  // and deletes its temporary WAL when it closes. PRIVATECACHE: the opening connection may hold
  // SQLite's shared-cache mutex.
  Connection c;
  int rc = sqlite3_open_v2(path.c_str(), &c.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_PRIVATECACHE,
                           base->zName);
  std::string why;
  std::string mode;
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(c.db, 10000);
    if (page_size != 0) {
      const std::string sql = "PRAGMA page_size=" + std::to_string(page_size);
      rc = sqlite3_exec(c.db, sql.c_str(), nullptr, nullptr, nullptr);
    }
    if (rc == SQLITE_OK) mode = query_text(c.db, "PRAGMA journal_mode=WAL", &rc);
  }
  if (rc == SQLITE_OK && mode == "wal") return;
  why = rc != SQLITE_OK ? std::string(c.db != nullptr ? sqlite3_errmsg(c.db) : "out of memory")
                        : "it stayed in journal_mode=" + mode;
  // The advice follows the cause: a read-only file or folder was explained as another process's
  // transaction (issue 19, item 8).
  const int primary = rc & 0xff;
  const std::string advice =
      primary == SQLITE_BUSY || primary == SQLITE_LOCKED
          ? "another process holds it in a rollback-journal transaction: close that first"
      : rc == SQLITE_OK || primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN ||
              primary == SQLITE_PERM
          ? "WAL mode writes the database and creates " + path +
                "-wal and -shm beside it: make "
                "the file and its folder writable for this process"
          : "see the reason above";
  throw SqliteError(rc == SQLITE_OK ? SQLITE_CANTOPEN : rc,
                    "cannot put " + path + " in WAL mode (" + why +
                        "); ltx replicates WAL-mode databases only. " + advice);
}

}  // namespace ltxvfs::vfs
