#include "extension/metrics_text.h"

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace ltxvfs::extension {
namespace {

using vfs::ReplicaMetrics;
using vfs::WriterMetrics;

std::string labels_of(const std::string& db, const std::string& replica,
                      const std::string& extra = {}) {
  std::string out =
      "{db=\"" + escape_label_value(db) + "\",replica=\"" + escape_label_value(replica) + "\"";
  if (!extra.empty()) out += "," + extra;
  return out + "}";
}

class Writer {
 public:
  explicit Writer(const vfs::ProcessMetrics& m) : m_(m) {}

  // One family over every writer.
  void writers(std::string_view name, std::string_view type, std::string_view help,
               const std::function<double(const WriterMetrics&)>& value) {
    if (m_.writers.empty()) return;
    header(name, type, help);
    for (const auto& w : m_.writers) sample(name, labels_of(w.db, w.replica_url), value(w));
  }
  // One family over every replica.
  void replicas(std::string_view name, std::string_view type, std::string_view help,
                const std::function<double(const ReplicaMetrics&)>& value) {
    if (m_.replicas.empty()) return;
    header(name, type, help);
    for (const auto& r : m_.replicas) sample(name, labels_of(r.db, r.stats.source), value(r));
  }
  // Store request counters of writers and replicas alike, one sample per kind of request.
  void store_requests() {
    if (m_.writers.empty() && m_.replicas.empty()) return;
    header("ltx_store_requests_total", "counter",
           "Requests sent to the object store, by kind (retries included).");
    const auto kinds = [&](const std::string& db, const std::string& replica,
                           const storage::StoreStatsSnapshot& s, const char* role) {
      const std::pair<const char*, uint64_t> by_kind[] = {{"put", s.puts},
                                                          {"get", s.gets},
                                                          {"head", s.heads},
                                                          {"list", s.lists},
                                                          {"delete", s.deletes}};
      for (const auto& [kind, n] : by_kind) {
        sample("ltx_store_requests_total",
               labels_of(db, replica, std::string("role=\"") + role + "\",kind=\"" + kind + "\""),
               static_cast<double>(n));
      }
    };
    for (const auto& w : m_.writers) kinds(w.db, w.replica_url, w.store, "primary");
    for (const auto& r : m_.replicas) kinds(r.db, r.stats.source, r.stats.store, "replica");
  }
  void store_counter(std::string_view name, std::string_view help,
                     uint64_t storage::StoreStatsSnapshot::*field) {
    if (m_.writers.empty() && m_.replicas.empty()) return;
    header(name, "counter", help);
    for (const auto& w : m_.writers) {
      sample(name, labels_of(w.db, w.replica_url, "role=\"primary\""),
             static_cast<double>(w.store.*field));
    }
    for (const auto& r : m_.replicas) {
      sample(name, labels_of(r.db, r.stats.source, "role=\"replica\""),
             static_cast<double>(r.stats.store.*field));
    }
  }
  std::string text() && { return std::move(out_); }

 private:
  void header(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
    out_ += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
  }
  void sample(std::string_view name, const std::string& labels, double value) {
    char number[64];
    // Counters and TXIDs are whole numbers: printed exactly up to 2^53, as %.17g does.
    std::snprintf(number, sizeof number, "%.17g", value);
    out_ += std::string(name) + labels + " " + number + "\n";
  }

  const vfs::ProcessMetrics& m_;
  std::string out_;
};

double n(uint64_t v) {
  return static_cast<double>(v);
}

// The store's counters, labelled by database and role.
void store_families(Writer& w) {
  w.store_requests();
  w.store_counter("ltx_store_failures_total", "Store calls that failed after their retries.",
                  &storage::StoreStatsSnapshot::failures);
  w.store_counter("ltx_store_retries_total", "Store requests retried.",
                  &storage::StoreStatsSnapshot::retries);
  w.store_counter("ltx_store_not_sent_total",
                  "Requests refused without sending: the endpoint had stopped answering.",
                  &storage::StoreStatsSnapshot::not_sent);
  w.store_counter("ltx_store_received_bytes_total", "Bytes received from the store.",
                  &storage::StoreStatsSnapshot::bytes_received);
  w.store_counter("ltx_store_sent_bytes_total", "Bytes sent to the store.",
                  &storage::StoreStatsSnapshot::bytes_sent);
}

}  // namespace

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string prometheus_text(const vfs::ProcessMetrics& m) {
  Writer w(m);
  w.writers("ltx_writer_txid", "gauge", "Newest TXID built from the database's WAL.",
            [](const WriterMetrics& x) { return n(x.stats.build.txid); });
  w.writers("ltx_writer_uploaded_txid", "gauge", "Newest TXID the object store acknowledged.",
            [](const WriterMetrics& x) { return n(x.stats.upload.uploaded_txid); });
  w.writers("ltx_writer_upload_lag_txids", "gauge",
            "Transactions built but not yet acknowledged by the store (0: caught up).",
            [](const WriterMetrics& x) {
              const uint64_t built = x.stats.build.txid, up = x.stats.upload.uploaded_txid;
              return n(built > up ? built - up : 0);
            });
  w.writers("ltx_writer_commits_total", "counter", "Commits seen by the replicator.",
            [](const WriterMetrics& x) { return n(x.stats.build.commits); });
  w.writers("ltx_writer_uploads_total", "counter", "LTX objects uploaded.",
            [](const WriterMetrics& x) { return n(x.stats.upload.objects_uploaded); });
  w.writers("ltx_writer_uploaded_bytes_total", "counter", "Bytes of LTX objects uploaded.",
            [](const WriterMetrics& x) { return n(x.stats.upload.bytes_uploaded); });
  w.writers("ltx_writer_upload_failures_total", "counter", "Upload attempts that failed.",
            [](const WriterMetrics& x) { return n(x.stats.upload.upload_failures); });
  w.writers("ltx_writer_last_upload_timestamp_seconds", "gauge",
            "When the newest upload was acknowledged (Unix time; 0: none yet).",
            [](const WriterMetrics& x) { return x.stats.upload.last_upload_ms / 1000.0; });
  w.writers("ltx_writer_spool_files", "gauge", "Spooled LTX files not yet acknowledged.",
            [](const WriterMetrics& x) { return n(x.stats.spool_files); });
  w.writers("ltx_writer_spool_bytes", "gauge", "Bytes spooled and not yet acknowledged.",
            [](const WriterMetrics& x) { return n(x.stats.spool_bytes); });
  w.writers("ltx_writer_lease_held", "gauge", "1 while this process holds the writer lease.",
            [](const WriterMetrics& x) { return x.stats.lease.rfind("held", 0) == 0 ? 1.0 : 0.0; });
  w.writers("ltx_writer_stopped", "gauge",
            "1 when replication stopped for good (another writer owns the location; see "
            "ltx_stats().conflict).",
            [](const WriterMetrics& x) { return x.stats.upload.conflict.empty() ? 0.0 : 1.0; });
  w.writers("ltx_writer_compactions_total", "counter", "Files written by compactions.",
            [](const WriterMetrics& x) { return n(x.stats.history.compactions); });
  w.writers("ltx_writer_snapshots_total", "counter", "Snapshots written by the history engine.",
            [](const WriterMetrics& x) { return n(x.stats.history.snapshots); });
  w.writers("ltx_writer_deleted_files_total", "counter", "Files deleted by retention.",
            [](const WriterMetrics& x) { return n(x.stats.history.deleted_files); });
  w.replicas("ltx_replica_txid", "gauge", "TXID of the snapshot the replica serves.",
             [](const ReplicaMetrics& x) { return n(x.stats.txid); });
  w.replicas("ltx_replica_commit_age_seconds", "gauge",
             "Age of the commit the replica serves (grows while the primary is idle).",
             [](const ReplicaMetrics& x) { return x.stats.commit_age_ms / 1000.0; });
  w.replicas("ltx_replica_lag_txids", "gauge",
             "Committed TXIDs the replica has seen but does not serve yet (0: caught up).",
             [](const ReplicaMetrics& x) { return n(x.stats.lag_txids); });
  w.replicas("ltx_replica_lag_seconds", "gauge",
             "How long the replica has been behind the primary (0: caught up).",
             [](const ReplicaMetrics& x) { return x.stats.lag_ms / 1000.0; });
  w.replicas("ltx_replica_polls_total", "counter", "Polls of the store for new transactions.",
             [](const ReplicaMetrics& x) { return n(x.stats.polls); });
  w.replicas("ltx_replica_poll_errors_total", "counter", "Polls that failed.",
             [](const ReplicaMetrics& x) { return n(x.stats.poll_errors); });
  w.replicas("ltx_replica_stalled", "gauge",
             "1 while a gap in the history holds the replica back (see ltx_stats()).",
             [](const ReplicaMetrics& x) { return x.stats.waiting_after != 0 ? 1.0 : 0.0; });
  w.replicas("ltx_replica_cache_hits_total", "counter", "Page reads served from the cache.",
             [](const ReplicaMetrics& x) { return n(x.stats.cache.hits); });
  w.replicas("ltx_replica_cache_misses_total", "counter", "Page reads that fetched.",
             [](const ReplicaMetrics& x) { return n(x.stats.cache.misses); });
  w.replicas("ltx_replica_cache_bytes", "gauge", "Bytes in the page cache.",
             [](const ReplicaMetrics& x) { return n(x.stats.cache.bytes); });
  w.replicas("ltx_replica_fetch_requests_total", "counter", "Ranged GETs for pages.",
             [](const ReplicaMetrics& x) { return n(x.stats.fetch.requests); });
  w.replicas("ltx_replica_fetch_bytes_total", "counter", "Bytes fetched for pages.",
             [](const ReplicaMetrics& x) { return n(x.stats.fetch.bytes); });
  store_families(w);
  return std::move(w).text();
}

}  // namespace ltxvfs::extension
