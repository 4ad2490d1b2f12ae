#include "extension/sql_functions.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "extension/metrics_text.h"
#include "extension/replica_functions.h"
#include "extension/stats_json.h"
#include "ltxvfs_version.h"
#include "vfs/shim/open_databases.h"
#include "vfs/shim/primary_connection.h"
#include "vfs/shim/refused_open.h"
#include "vfs/shim/vfs_shim.h"
#include "vfs/writer/replicator.h"

namespace ltxvfs::extension {
namespace {

writer::Replicator* replicator_of(sqlite3_context* ctx) {
  writer::Replicator* r = nullptr;
  sqlite3* db = sqlite3_context_db_handle(ctx);
  if (sqlite3_file_control(db, "main", vfs::kFcntlLtxReplicator, &r) != SQLITE_OK) return nullptr;
  return r;
}

// Fails `function` on a connection whose main database neither replicates nor is a read replica,
// saying how to open it through ltx (issue 19: forgetting ?vfs=ltx used to give empty results).
void fail_not_replicated(sqlite3_context* ctx, const char* function) {
  sqlite3* db = sqlite3_context_db_handle(ctx);
  const char* file = sqlite3_db_filename(db, "main");
  const std::string name = file != nullptr ? file : "";
  sqlite3_vfs* vfs = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK) {
    vfs = nullptr;
  }
  std::string message = std::string(function) + ": ";
  if (name.empty()) {
    message +=
        "the main database of this connection is in memory or temporary, so nothing is "
        "replicated. Open a database file through ltx, e.g. file:app.db?vfs=ltx";
  } else if (vfs != nullptr && std::strcmp(vfs->zName, vfs::kVfsName) == 0) {
    message += name +
               " was opened through ltx read-only (or is not a database SQLite can write), "
               "which replicates nothing: open it read-write, or as a read replica with "
               "mode=ro&replica=<url>";
  } else {
    message += name + " is not replicated: it was opened through the '" +
               (vfs != nullptr ? vfs->zName : "?") + "' VFS, not ltx. Open it as file:" + name +
               "?vfs=ltx (a URI filename: `.open file:...?vfs=ltx` in the sqlite3 shell, "
               "sqlite3_open_v2(..., \"ltx\") in C, sqlite3.connect(..., uri=True) in Python), "
               "or set LTXVFS_DEFAULT_VFS=1 before loading the extension";
  }
  sqlite3_result_error(ctx, message.c_str(), static_cast<int>(message.size()));
}

void ltx_txid(sqlite3_context* ctx, int, sqlite3_value**) {
  writer::Replicator* r = replicator_of(ctx);
  if (r == nullptr) {
    // A read replica: the newest TXID it has (PRAGMA ltx_txid: the one the connection reads).
    if (auto txid = replica_txid(sqlite3_context_db_handle(ctx))) {
      return sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(*txid));
    }
    return fail_not_replicated(ctx, "ltx_txid()");
  }
  try {
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(r->flush_txid()));
  } catch (const std::exception& e) {
    sqlite3_result_error(ctx, e.what(), -1);
  }
}

void ltx_stats(sqlite3_context* ctx, int, sqlite3_value**) {
  writer::Replicator* r = replicator_of(ctx);
  if (r == nullptr) {
    // A read replica reports its own statistics; anything else is not replicated.
    std::optional<std::string> replica = replica_stats_json(sqlite3_context_db_handle(ctx));
    if (!replica) return fail_not_replicated(ctx, "ltx_stats()");
    return sqlite3_result_text(ctx, replica->c_str(), static_cast<int>(replica->size()),
                               SQLITE_TRANSIENT);
  }
  const writer::ReplicatorStats s = r->stats();
  nlohmann::json j = {
      {"role", "primary"},
      {"replica", r->config().replica_url},
      {"format", r->config().format == ltx::OutputFormat::kNative ? "native" : "litestream"},
      {"durability", r->config().durability == writer::Durability::kRemote ? "remote" : "local"},
      {"txid", s.build.txid},
      {"durable_txid", s.durable_txid},
      {"uploaded_txid", s.upload.uploaded_txid},
      {"commits", s.build.commits},
      {"batches", s.build.batches},
      {"syncs", s.syncs},
      {"wal_scans", s.build.wal_scans},
      {"checkpoint_waits", s.checkpoint_waits},
      {"checkpoint_wait_us", s.checkpoint_wait_us},
      {"overwrite_waits", s.overwrite_waits},
      {"overwrite_wait_us", s.overwrite_wait_us},
      {"full_files", s.build.full_files},
      {"spool_files", s.spool_files},
      {"spool_bytes", s.spool_bytes},
      {"objects_uploaded", s.upload.objects_uploaded},
      {"bytes_uploaded", s.upload.bytes_uploaded},
      {"upload_failures", s.upload.upload_failures},
      {"spool_overflows", s.build.spool_overflows},
      {"last_upload_ms", s.upload.last_upload_ms},
      {"last_error", s.last_error},
      {"conflict", s.upload.conflict},
      {"remote_failure", s.upload.remote_failure},
      {"lease", s.lease},
      {"compactions", s.history.compactions},
      {"snapshots", s.history.snapshots},
      {"deleted_files", s.history.deleted_files},
      {"history_error", s.history.history_error},
  };
  j["store"] = store_stats_json(r->store_stats());
  const std::string text = j.dump();
  sqlite3_result_text(ctx, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

// ltx_metrics(): every database of the process, Prometheus text format (metrics_text.h).
void ltx_metrics(sqlite3_context* ctx, int, sqlite3_value**) {
  try {
    const std::string text = prometheus_text(vfs::OpenDatabases::process().collect());
    sqlite3_result_text(ctx, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  } catch (const std::exception& e) {
    sqlite3_result_error(ctx, e.what(), -1);
  }
}

// ltx_last_error(): the newest refused open's reason in this process (vfs/shim/refused_open.h says
// why process-wide), or NULL. Works on any connection, e.g. one on :memory:.
void ltx_last_error(sqlite3_context* ctx, int, sqlite3_value**) {
  const std::optional<std::string> reason = vfs::last_refused_open();
  if (!reason) return sqlite3_result_null(ctx);
  sqlite3_result_text(ctx, reason->c_str(), static_cast<int>(reason->size()), SQLITE_TRANSIENT);
}

// ltx_version(): the extension's version (CMakeLists.txt's project(), as `ltxvfs --version`).
void ltx_version(sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3_result_text(ctx, LTXVFS_VERSION, -1, SQLITE_STATIC);
}

}  // namespace

int register_sql_functions(sqlite3* db) {
  int rc = sqlite3_create_function_v2(db, "ltx_txid", 0, SQLITE_UTF8, nullptr, ltx_txid, nullptr,
                                      nullptr, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "ltx_stats", 0, SQLITE_UTF8, nullptr, ltx_stats, nullptr,
                                    nullptr, nullptr);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "ltx_metrics", 0, SQLITE_UTF8, nullptr, ltx_metrics,
                                    nullptr, nullptr, nullptr);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "ltx_last_error", 0, SQLITE_UTF8, nullptr, ltx_last_error,
                                    nullptr, nullptr, nullptr);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "ltx_version", 0, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                    nullptr, ltx_version, nullptr, nullptr, nullptr);
  }
  if (rc == SQLITE_OK) rc = register_replica_functions(db);
  return rc;
}

}  // namespace ltxvfs::extension
