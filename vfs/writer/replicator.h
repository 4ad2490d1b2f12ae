// Replicator: the replication of one database file, shared by every connection of the process
// that opens it through `ltx`. It checks the store at open, then runs a pipeline of stages, each
// owning its state and its thread:
//
//   SQLite thread (commit) --CommitNotice--> BuildStage --spool--> SyncStage --durable-->
//   UploadStage --> store;  HistoryStage shapes the store's history;  LeaseKeeper renews the
//   writer lease on the process's scheduler
//
// The commit path only queues a notice (BuildStage::commit). SQLite waits for the pipeline only
// where it must:
//
//   - a checkpoint (before_checkpoint): only while the builder reads the database file (a full
//     file), which a checkpoint rewrites; building commits reads only the WAL, which a checkpoint
//     never changes, so the checkpoint's copying and fsyncs run beside it (CheckpointGate). At
//     its end (after_checkpoint) a background sync is asked for, so the spool is usually durable
//     by the WAL restart that follows;
//   - a WAL restart, truncation or deletion (before_wal_overwrite): until everything is built and
//     durable, because the WAL frames are the only other copy;
//   - remote durability (wait_uploaded): until the store has the commit, at most
//     remote_timeout_ms; a commit the store did not acknowledge in time makes the next write
//     transaction fail (write_refusal) until the store has caught up.
//
// Stages never call one another while holding their own mutex; they are wired together here with
// hooks (a batch was spooled, a sync finished, the spool shrank, a snapshot is needed, the lease
// was lost). Every public method may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log_sink.h"
#include "base/scheduler.h"
#include "history/head_keeper.h"
#include "history/restore_plan.h"
#include "storage/cancellation.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"
#include "storage/store_factory.h"
#include "vfs/writer/build_stage.h"
#include "vfs/writer/checkpoint_gate.h"
#include "vfs/writer/commit_notice.h"
#include "vfs/writer/config.h"
#include "vfs/writer/error_note.h"
#include "vfs/writer/file_access.h"
#include "vfs/writer/history_stage.h"
#include "vfs/writer/lease_keeper.h"
#include "vfs/writer/ltx_builder.h"
#include "vfs/writer/spool.h"
#include "vfs/writer/sync_stage.h"
#include "vfs/writer/upload_stage.h"
#include "vfs/writer/uploader.h"
#include "vfs/writer/wal_index_header.h"
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

// What ltx_stats() shows: copies of each stage's counters, output only.
struct ReplicatorStats {
  BuildStats build;
  UploadStats upload;
  HistoryStats history;
  uint64_t durable_txid = 0;  // newest TXID spooled durably
  uint64_t syncs = 0;         // fdatasyncs of the spool
  // Time SQLite's threads spent waiting for the pipeline: at checkpoints (while a full file
  // reads the database file; at the closing checkpoint until built) and before the WAL is
  // restarted, truncated or deleted (until built and durable).
  uint64_t checkpoint_waits = 0;
  uint64_t checkpoint_wait_us = 0;
  uint64_t overwrite_waits = 0;
  uint64_t overwrite_wait_us = 0;
  uint64_t spool_files = 0;  // spooled records not yet acknowledged
  uint64_t spool_bytes = 0;
  std::string last_error;  // the newest store or build error, cleared by a successful upload
  std::string lease;       // the writer lease: "held (generation N, until ...)", "not held"
};

class Replicator {
 public:
  // Takes the local writer lock and the writer lease on the store (waiting up to lease_wait_ms
  // for another writer to release it), checks the store is not ahead of the local state (when
  // reachable), and starts the stages; the lease is renewed on `scheduler`. Throws
  // std::runtime_error with a message for the user when the open must be refused.
  Replicator(Config config, std::unique_ptr<FileAccess> files, ReplicatorStores stores,
             base::LogSink sink, base::Scheduler& scheduler = base::Scheduler::process());
  // Lets the history run in progress finish, drains the builder, gives the uploader and the
  // history up to close_timeout_ms (then cancels whatever the stores are still doing), releases
  // the lease.
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  const Config& config() const { return config_; }

  // Hot path: queue a commit; returns its sequence number. Never blocks on I/O.
  uint64_t commit(CommitNotice notice) { return build_.commit(std::move(notice)); }
  // Waits until the commit `seq` is built; returns the newest TXID at that point.
  uint64_t wait_built(uint64_t seq) { return build_.wait_built(seq); }
  // Remote durability: waits until the store acknowledged the object holding commit `seq`, at
  // most remote_timeout_ms. Returns false (and records the failure, see write_refusal()) when it
  // was not acknowledged in time or uploading stopped.
  bool wait_uploaded(uint64_t seq);
  // Non-empty when a new write transaction must be refused, saying why: with remote durability,
  // a commit the store has not acknowledged (until it has).
  std::string write_refusal() { return upload_.write_refusal(); }
  // The database file was written outside a checkpoint: the next commit ships the whole database.
  void note_write_outside_wal() { build_.note_write_outside_wal(); }
  // SQLite took the checkpoint lock: waits only while the builder reads the database file.
  void before_checkpoint();
  // It released it; `copied` is the wal-index header then (nullopt: unreadable), so at most the
  // frames up to its max_frame are in the database file.
  void after_checkpoint(const std::optional<WalIndexHeader>& copied);
  // The last connection's closing checkpoint (which takes no checkpoint lock): waits until every
  // queued commit is built.
  void before_closing_checkpoint();
  // SQLite is about to overwrite, truncate or delete the WAL: waits until every queued commit is
  // built and the spool holding it is durable.
  void before_wal_overwrite();
  // SQLite is about to write a WAL header (at offset 0). Into a WAL file that held frames (a
  // restart): before_wal_overwrite(). Into an empty one (`wal_empty`: just created, or truncated
  // after its wait), nothing is overwritten: waits only for the builder's first run.
  void before_wal_header(bool wal_empty);
  // The newest TXID, after building everything committed so far.
  uint64_t flush_txid() { return build_.wait_all_built(); }
  ReplicatorStats stats() const;
  // Requests and bytes the store has handled for this database.
  storage::StoreStatsSnapshot store_stats() const { return store_stats_->snapshot(); }

 private:
  struct RemoteAtOpen {
    uint64_t txid = 0;  // the newest TXID the store holds (0 when unreachable or empty)
    // Its history (nullopt when unreachable), which the history's first run uses instead of
    // reading the store again (issue 16, item 10).
    std::optional<history::History> history;
  };
  // Checks the store at open.
  RemoteAtOpen check_remote_at_open(storage::ObjectStore& probe);
  // The store holds a history and this database none: "" when the database is the store's
  // newest state (then that history is adopted), otherwise why it cannot continue it.
  std::string continue_remote_history(storage::ObjectStore& probe,
                                      const std::vector<history::RemoteFile>& files);
  // With a key: settles the database id encrypted files bind (vfs/writer/database_id.h) and hands
  // it to the builder, the uploader and `work`. `remote`: the history read at open (none when the
  // store was unreachable).
  void bind_database(const std::optional<history::History>& remote, storage::ObjectStore& probe,
                     history::CompactionWork& work);
  // At close, after the last build: the spool made durable and state.json written.
  void record_position_at_close();
  std::unique_ptr<history::WriterLease> make_lease();
  UploadStage::Hooks upload_hooks();
  void log(base::LogSeverity severity, const std::string& message) const;

  // Constant after construction (the stages below are thread-safe themselves).
  const Config config_;
  const base::LogSink log_;
  base::Scheduler& scheduler_;
  std::unique_ptr<FileAccess> files_;
  std::unique_ptr<storage::ObjectStore> store_;
  std::unique_ptr<storage::ObjectStore> quick_;
  std::shared_ptr<storage::Cancellation> cancel_;
  storage::LayoutStyle layout_;
  std::shared_ptr<storage::StoreStats> store_stats_;
  WriterLock lock_;
  Spool spool_;
  // The position recorded when the replicator opened (spool or state file), for the builder's
  // first run; `recorded_problem_` says why a recorded state was unusable. Set before the stages
  // start, read only then.
  std::optional<LocalState> recorded_;
  std::string recorded_problem_;
  // The database id of the encrypted history this database continues (its newest file's), when
  // continue_remote_history adopted one; 0 otherwise. Read by bind_database only.
  uint64_t adopted_database_id_ = 0;
  ErrorNote errors_;
  CheckpointGate gate_;  // SQLite's checkpoints and the builder's reads of the database file
  // Closing: the history run in progress goes on to its end (CompactionWork::closing) ...
  std::atomic<bool> closing_{false};
  // ... until the close's deadline: then it stops at once (CompactionWork::stop_requested).
  std::atomic<bool> stopping_{false};
  // A checkpoint ended: the builder's next batch asks for a sync (after_checkpoint).
  std::atomic<bool> sync_after_build_{false};
  // Checkpoint and WAL-overwrite waits, output only (atomics: SQLite's threads add to them).
  std::atomic<uint64_t> checkpoint_waits_{0}, checkpoint_wait_us_{0};
  std::atomic<uint64_t> overwrite_waits_{0}, overwrite_wait_us_{0};

  // Each used by one stage's thread alone (the head by the upload stage's, through uploader_).
  LtxBuilder builder_;
  history::HeadKeeper head_;
  Uploader uploader_;

  // The pipeline; declared in the order they are built (each may name those above it).
  LeaseKeeper lease_;
  SyncStage sync_;
  BuildStage build_;
  UploadStage upload_;
  std::unique_ptr<HistoryStage> history_;
};

}  // namespace ltxvfs::writer
