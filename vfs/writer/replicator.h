// Replicator: the replication of one database file, shared by every connection of the process
// that opens it through `ltx`.
//
//   SQLite thread (commit) --CommitNotice--> builder --spool--> syncer --durable--> uploader -->
//   store
//
// The commit path only queues a notice (a mutex and a deque; the builder is woken only when it
// sleeps). The builder takes everything queued at once and spools it as one LTX file; the syncer
// makes the spool durable in the background; the uploader ships durable records, grouped per
// upload interval. SQLite waits for the pipeline only where it must:
//
//   - a checkpoint (before_checkpoint): until every committed transaction is built, because a
//     checkpoint rewrites database pages the builder may still need to read; then a background
//     sync is started, which normally completes while SQLite runs its own checkpoint fsyncs;
//   - a WAL restart, truncation or deletion (before_wal_overwrite): until everything is built and
//     durable, because the WAL frames are the only other copy;
//   - remote durability (wait_uploaded): until the store has the commit, at most
//     remote_timeout_ms; a commit the store did not acknowledge in time makes the next write
//     transaction fail (write_refusal) until the store has caught up.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/log_sink.h"
#include "history/history_engine.h"
#include "history/restore_plan.h"
#include "history/writer_lease.h"
#include "storage/cancellation.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"
#include "storage/store_factory.h"
#include "vfs/writer/batch_pacing.h"
#include "vfs/writer/commit_notice.h"
#include "vfs/writer/config.h"
#include "vfs/writer/file_access.h"
#include "vfs/writer/ltx_builder.h"
#include "vfs/writer/spool.h"
#include "vfs/writer/uploader.h"
#include "vfs/writer/writer_lock.h"

namespace ltxvfs::writer {

// The stores a replicator works with. Both share `cancel`, which the replicator fires when closing
// runs out of time, so no call of either can hold a close past close_timeout_ms.
struct ReplicatorStores {
  storage::OpenedStore main;  // uploads: the normal retry budget
  // The same location with a short time budget: the open-time check and the writer lease, which
  // must not hold an open (or a close) for the normal budget when the store is down or silent.
  std::unique_ptr<storage::ObjectStore> quick;
  std::shared_ptr<storage::Cancellation> cancel;
};

struct ReplicatorStats {
  uint64_t txid = 0;           // newest TXID built
  uint64_t durable_txid = 0;   // newest TXID spooled durably
  uint64_t uploaded_txid = 0;  // newest TXID the store acknowledged
  uint64_t commits = 0;        // commit notices seen
  uint64_t batches = 0;        // LTX files built (one per batch of commits)
  uint64_t full_files = 0;     // full-database files written (snapshots and resyncs)
  uint64_t syncs = 0;          // fdatasyncs of the spool
  uint64_t wal_scans = 0;      // batches read back from the WAL (no wal-index page numbers)
  // Time SQLite's threads spent waiting for the pipeline: at checkpoints (until built) and before
  // the WAL is restarted, truncated or deleted (until durable).
  uint64_t checkpoint_waits = 0;
  uint64_t checkpoint_wait_us = 0;
  uint64_t overwrite_waits = 0;
  uint64_t overwrite_wait_us = 0;
  uint64_t spool_files = 0;  // spooled records not yet acknowledged
  uint64_t spool_bytes = 0;
  uint64_t objects_uploaded = 0;
  uint64_t bytes_uploaded = 0;
  uint64_t upload_failures = 0;
  uint64_t spool_overflows = 0;  // times the spool limit was reached
  int64_t last_upload_ms = 0;
  std::string last_error;      // the newest store or build error, cleared by success
  std::string conflict;        // non-empty: uploading stopped because it would be unsafe
  std::string remote_failure;  // non-empty: a remote-durability commit was not acknowledged
  std::string lease;           // the writer lease: "held (generation N)", "not held: ..."
  // The remote history (history_engine.h): files written by compactions and snapshots, files
  // deleted by retention, and the engine's newest error (a stop on a conflict included).
  uint64_t compactions = 0;
  uint64_t snapshots = 0;
  uint64_t deleted_files = 0;
  std::string history_error;
};

class Replicator {
 public:
  // Takes the local writer lock and the writer lease on the store (waiting up to lease_wait_ms
  // for another writer to release it), checks the store is not ahead of the local state (when
  // reachable), and starts the threads. Throws std::runtime_error with a message for the user when
  // the open must be refused.
  Replicator(Config config, std::unique_ptr<FileAccess> files, ReplicatorStores stores,
             base::LogSink sink);
  // Drains the builder, gives the uploader up to close_timeout_ms to empty the spool (then cancels
  // whatever the stores are still doing), releases the lease, stops.
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  const Config& config() const { return config_; }

  // Hot path: queue a commit; returns its sequence number. Never blocks on I/O.
  uint64_t commit(CommitNotice notice);
  // Waits until the commit `seq` is built; returns the newest TXID at that point.
  uint64_t wait_built(uint64_t seq);
  // Remote durability: waits until the store acknowledged the object holding commit `seq`, at
  // most remote_timeout_ms. Returns false (and records the failure, see write_refusal()) when it
  // was not acknowledged in time or uploading stopped.
  bool wait_uploaded(uint64_t seq);
  // Non-empty when a new write transaction must be refused, saying why: with remote durability,
  // a commit the store has not acknowledged (until it has).
  std::string write_refusal();
  // The database file was written outside a checkpoint: the next commit ships the whole database.
  void note_write_outside_wal();
  // SQLite is about to checkpoint: waits until every queued commit is built.
  void before_checkpoint();
  // SQLite is about to overwrite, truncate or delete the WAL: waits until every queued commit is
  // built and the spool holding it is durable.
  void before_wal_overwrite();
  // The newest TXID, after building everything committed so far.
  uint64_t flush_txid();
  ReplicatorStats stats() const;
  // Requests and bytes the store has handled for this database.
  storage::StoreStatsSnapshot store_stats() const { return store_stats_->snapshot(); }

 private:
  using Clock = std::chrono::steady_clock;

  void wait_until_built_locked(std::unique_lock<std::mutex>& lock);
  // Asks the syncer for a sync of everything spooled so far; returns the request's number.
  uint64_t request_sync_locked();
  void builder_loop();
  // Moves the next batch of queued commits into `batch`, bounded by the spool limit (mu_ held).
  void take_batch_within_spool_limit(std::vector<CommitNotice>& batch);
  void syncer_loop();
  void uploader_loop();
  // Compaction levels, snapshots and retention, while this process holds the writer lease.
  void history_loop();
  void acquire_lease_at_open();
  // Before uploading: the lease is held and fresh (acquires or renews it). Throws StoreError when
  // the store failed (retry later) and RemoteConflict when another writer holds it.
  void ensure_lease();
  // When the lease must next be renewed (for the uploader's waits). Needs mu_.
  Clock::time_point next_lease_renewal() const;
  // Copies the lease's state into stats_ (needs mu_; only the uploader thread changes the lease).
  void note_lease_locked();
  void check_remote_at_open(storage::ObjectStore& probe);
  // The store holds a history and this database none: "" when the database is the store's
  // newest state (then that history is adopted), otherwise why it cannot continue it.
  std::string continue_remote_history(storage::ObjectStore& probe,
                                      const std::vector<history::RemoteFile>& files);
  // Where the builder resumes after a failed run: the spool's newest record or the recorded state.
  std::optional<LocalState> position_to_resume() const;
  void log(base::LogSeverity severity, const std::string& message) const;
  int64_t now_ms() const;

  Config config_;
  base::LogSink log_;
  std::unique_ptr<FileAccess> files_;
  std::unique_ptr<storage::ObjectStore> store_;
  std::unique_ptr<storage::ObjectStore> quick_;
  std::shared_ptr<storage::Cancellation> cancel_;
  storage::LayoutStyle layout_;
  std::shared_ptr<storage::StoreStats> store_stats_;
  WriterLock lock_;
  std::unique_ptr<history::WriterLease> lease_;  // on quick_
  Spool spool_;
  LtxBuilder builder_;
  Uploader uploader_;
  // The position recorded when the replicator opened (spool or state file), for the builder's
  // first run; `recorded_problem_` says why a recorded state was unusable.
  std::optional<LocalState> recorded_;
  std::string recorded_problem_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;      // -> builder (queue, snapshot requests, stop)
  std::condition_variable built_cv_;     // builder -> build waiters
  std::condition_variable sync_cv_;      // -> syncer (requests, stop)
  std::condition_variable synced_cv_;    // syncer -> durability waiters
  std::condition_variable upload_cv_;    // -> uploader (new durable records, waiters, stop)
  std::condition_variable uploaded_cv_;  // uploader -> remote durability waiters
  std::condition_variable history_cv_;   // -> history thread (stop, the lease)
  std::vector<CommitNotice> queue_;
  uint64_t queued_frames_ = 0;  // WAL frames of the commits in queue_
  uint64_t next_seq_ = 1;
  uint64_t processed_seq_ = 0;
  uint64_t seq_txid_ = 0;  // newest TXID when processed_seq_ was reached
  bool builder_idle_ = false;
  bool builder_napping_ = false;    // letting commits gather after a batch (BatchPacing)
  BatchPacing::Pace builder_pace_;  // ... and how: wake it when full? batch size?
  bool uploader_idle_ = false;      // waiting for something to upload (not in its window)
  bool initial_sync_done_ = false;  // the builder knows the position (after its first run)
  bool snapshot_requested_ = false;
  bool written_outside_wal_ = false;
  bool stop_builder_ = false;
  bool stop_syncer_ = false;
  bool stop_uploader_ = false;
  bool stop_history_ = false;
  std::atomic<bool> closing_{false};  // a long compaction or snapshot build stops at once
  uint64_t built_waiters_ = 0;
  uint64_t sync_requested_ = 0;  // requests made ...
  uint64_t sync_done_ = 0;       // ... and served
  bool syncer_idle_ = false;
  uint64_t durable_waiters_ = 0;
  uint64_t durability_waiters_ = 0;  // remote durability
  // Written under mu_; atomic so that write_refusal() can see "nothing refused" without mu_ (it
  // runs at the start of every write transaction).
  std::atomic<uint64_t> remote_failure_txid_{0};
  bool lease_held_ = false;
  history::WallClock::time_point lease_expires_{};
  ReplicatorStats stats_;

  std::thread builder_thread_;
  std::thread syncer_thread_;
  std::thread uploader_thread_;
  std::unique_ptr<history::HistoryEngine> history_;
  std::thread history_thread_;
};

}  // namespace ltxvfs::writer
