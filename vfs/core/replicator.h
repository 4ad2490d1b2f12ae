// Replicator: the replication of one database file, shared by every connection of the process
// that opens it through `ltx`.
//
//   SQLite thread (commit)  --CommitNotice-->  builder thread  --spool-->  uploader thread -->
//   store
//
// The commit path only queues a notice (a mutex and a condition variable). The builder reads the
// transaction back from the WAL, encodes it and spools it; the uploader ships the spool. SQLite
// may not discard WAL frames (checkpoint, truncate) until the builder has spooled them and made
// the spool durable: before_wal_discard() waits for that.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "storage/object_store.h"
#include "storage/replica_layout.h"
#include "storage/store_factory.h"
#include "vfs/core/commit_notice.h"
#include "vfs/core/config.h"
#include "vfs/core/file_access.h"
#include "vfs/core/ltx_builder.h"
#include "vfs/core/spool.h"
#include "vfs/core/uploader.h"
#include "vfs/core/writer_lock.h"

namespace ltxvfs::core {

struct ReplicatorStats {
  uint64_t txid = 0;           // newest TXID built
  uint64_t uploaded_txid = 0;  // newest TXID the store acknowledged
  uint64_t commits = 0;        // commit notices seen
  uint64_t full_files = 0;     // full-database files written (snapshots and resyncs)
  uint64_t spool_files = 0;
  uint64_t spool_bytes = 0;
  uint64_t objects_uploaded = 0;
  uint64_t bytes_uploaded = 0;
  uint64_t upload_failures = 0;
  uint64_t spool_overflows = 0;  // times the spool limit was reached
  int64_t last_upload_ms = 0;
  std::string last_error;  // the newest store or build error, cleared by success
  std::string conflict;    // non-empty: uploading stopped because it would be unsafe
};

class Replicator {
 public:
  // Takes the writer lock, checks the store is not ahead of the local state (when reachable),
  // and starts the threads. Throws std::runtime_error with a message for the user when the open
  // must be refused.
  // `probe` is the same store with a short retry budget: the open-time check must not hold the
  // application for the store's full retry time when the store is unreachable.
  Replicator(Config config, std::unique_ptr<FileAccess> files, storage::OpenedStore store,
             std::unique_ptr<storage::ObjectStore> probe);
  // Drains the builder, gives the uploader up to close_timeout_ms to empty the spool, stops.
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  const Config& config() const { return config_; }

  // Hot path: queue a commit; returns its sequence number. Never blocks on I/O.
  uint64_t commit(CommitNotice notice);
  // Waits until the commit `seq` is built; returns the newest TXID at that point.
  uint64_t wait_built(uint64_t seq);
  // Remote durability: waits until the store acknowledged the object holding commit `seq`.
  // Throws std::runtime_error when uploading has stopped on a conflict.
  void wait_uploaded(uint64_t seq);
  // The database file was written outside a checkpoint: the next commit ships the whole database.
  void note_write_outside_wal();
  // Blocks until every queued commit is spooled and the spool is durable.
  void before_wal_discard();
  // The same for the closing connection's checkpoint, without waiting for the builder's first
  // run: that may be waiting for the database to reach WAL mode, which the EXCLUSIVE lock of the
  // switch itself would otherwise deadlock against.
  void before_close_checkpoint();
  // The newest TXID, after building everything committed so far.
  uint64_t flush_txid();
  ReplicatorStats stats() const;
  // Requests and bytes the store has handled for this database.
  storage::StoreStatsSnapshot store_stats() const { return store_stats_->snapshot(); }

 private:
  // Waits until the builder has spooled every queued commit (and, if asked, finished its first
  // run), then makes the spool and the state file durable.
  void drain_and_make_durable(bool after_initial_sync);
  void builder_loop();
  void uploader_loop();
  void check_remote_at_open(storage::ObjectStore& probe);
  int64_t now_ms() const;

  Config config_;
  std::unique_ptr<FileAccess> files_;
  std::unique_ptr<storage::ObjectStore> store_;
  storage::LayoutStyle layout_;
  std::shared_ptr<storage::StoreStats> store_stats_;
  WriterLock lock_;
  Spool spool_;
  LtxBuilder builder_;
  Uploader uploader_;

  mutable std::mutex mu_;
  std::condition_variable built_cv_;     // builder -> waiters (processed_seq_)
  std::condition_variable work_cv_;      // -> builder (queue, snapshot requests, stop)
  std::condition_variable upload_cv_;    // -> uploader (new spool files, stop)
  std::condition_variable uploaded_cv_;  // uploader -> durability waiters
  std::deque<CommitNotice> queue_;
  uint64_t next_seq_ = 1;
  uint64_t processed_seq_ = 0;
  uint64_t seq_txid_ = 0;  // newest TXID when processed_seq_ was reached
  bool building_ = false;
  bool initial_sync_done_ = false;  // the builder knows the position (after its first run)
  bool snapshot_requested_ = false;
  bool written_outside_wal_ = false;
  bool stop_builder_ = false;
  bool stop_uploader_ = false;
  uint64_t durability_waiters_ = 0;
  ReplicatorStats stats_;
  std::mutex build_mu_;  // held while the builder runs; before_wal_discard takes it to fsync

  std::thread builder_thread_;
  std::thread uploader_thread_;
};

}  // namespace ltxvfs::core
