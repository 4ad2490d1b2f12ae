#include "extension/sql_functions.h"

#include <nlohmann/json.hpp>
#include <string>

#include "extension/metrics_text.h"
#include "extension/replica_functions.h"
#include "extension/stats_json.h"
#include "vfs/shim/open_databases.h"
#include "vfs/shim/primary_connection.h"
#include "vfs/writer/replicator.h"

namespace ltxvfs::extension {
namespace {

writer::Replicator* replicator_of(sqlite3_context* ctx) {
  writer::Replicator* r = nullptr;
  sqlite3* db = sqlite3_context_db_handle(ctx);
  if (sqlite3_file_control(db, "main", vfs::kFcntlLtxReplicator, &r) != SQLITE_OK) return nullptr;
  return r;
}

void ltx_txid(sqlite3_context* ctx, int, sqlite3_value**) {
  writer::Replicator* r = replicator_of(ctx);
  if (r == nullptr) return sqlite3_result_null(ctx);
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
    if (!replica) return sqlite3_result_null(ctx);
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
  if (rc == SQLITE_OK) rc = register_replica_functions(db);
  return rc;
}

}  // namespace ltxvfs::extension
