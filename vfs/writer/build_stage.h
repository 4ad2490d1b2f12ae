// BuildStage: the commit queue and the builder (runs on the process's worker pool:
// base::PooledTask). SQLite's committing thread queues a CommitNotice (commit(): a mutex and a
// vector push, a wake-up only when the builder sleeps); each run of the builder takes the queued
// notices, paced by BatchPacing, and LtxBuilder spools them as one LTX file. SQLite waits here
// before a checkpoint and a WAL overwrite (wait_all_built), and with remote durability
// (wait_built).
//
// Concurrency contract: commit(), wait_built(), wait_all_built(), note_write_outside_wal(),
// request_snapshot(), wake() and stats() may be called from any thread. The LtxBuilder belongs
// to the builder's runs alone (it is single-threaded; runs never overlap) from start() to stop().
// The hook after_batch is called in a run with no lock of this stage held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/log_sink.h"
#include "base/mutex.h"
#include "base/pooled_task.h"
#include "vfs/writer/batch_pacing.h"
#include "vfs/writer/commit_notice.h"
#include "vfs/writer/config.h"
#include "vfs/writer/error_note.h"
#include "vfs/writer/local_state.h"
#include "vfs/writer/ltx_builder.h"
#include "vfs/writer/spool.h"

namespace ltxvfs::writer {

struct BuildStats {
  uint64_t txid = 0;        // newest TXID built
  uint64_t commits = 0;     // commit notices seen
  uint64_t batches = 0;     // LTX files built (one per batch of commits)
  uint64_t full_files = 0;  // full-database files written (snapshots and resyncs)
  uint64_t wal_scans = 0;   // batches read back from the WAL (no wal-index page numbers)
  uint64_t spool_overflows = 0;
};

class BuildStage {
 public:
  // After a batch was spooled: `eager` (remote durability, or upload_interval_ms=0) asks for it
  // to be made durable and uploaded at once.
  using AfterBatch = std::function<void(bool eager)>;

  BuildStage(const Config& config, LtxBuilder& builder, Spool& spool, ErrorNote& errors,
             base::LogSink log, AfterBatch after_batch);
  ~BuildStage();  // stop()s
  BuildStage(const BuildStage&) = delete;
  BuildStage& operator=(const BuildStage&) = delete;

  // Starts the thread; its first run resumes from `recorded` (the spool or state.json), or
  // writes a snapshot when there is none (`recorded_problem` says why a recorded state was
  // unusable).
  void start(std::optional<LocalState> recorded, std::string recorded_problem, uint64_t txid)
      EXCLUDES(mu_);
  // Builds everything queued, then ends the thread.
  void stop() EXCLUDES(mu_);

  // Hot path: queues a commit; returns its sequence number. Never blocks on I/O.
  uint64_t commit(CommitNotice notice) EXCLUDES(mu_);
  // Waits until commit `seq` is built; returns the newest TXID at that point.
  uint64_t wait_built(uint64_t seq) EXCLUDES(mu_);
  // Waits until every commit queued so far is built; returns the newest TXID.
  uint64_t wait_all_built() EXCLUDES(mu_);
  // Waits until the first run (the open's look at the database and the WAL) is over.
  void wait_first_run() EXCLUDES(mu_);
  // The database file was written outside a checkpoint: the next commit ships the whole database.
  void note_write_outside_wal() EXCLUDES(mu_);
  // The store lacks the history before the spool: asks for a snapshot at the next TXID, and
  // returns at once (the upload stage asks from a pool worker: no run waits for another). False
  // when the stage is stopping and no run would build it. after_batch follows it.
  bool request_snapshot() EXCLUDES(mu_);
  // A snapshot was asked for and is not spooled yet.
  bool snapshot_pending() const EXCLUDES(mu_);
  // The spool shrank: an idle builder looks again (an overflow may end).
  void wake() EXCLUDES(mu_);
  BuildStats stats() const EXCLUDES(mu_);

 private:
  enum class Run { kFirst, kResume, kBatch, kSnapshot };
  // Builds one batch of what is queued (or the first run, a snapshot, a resume), then asks for
  // the next run, after the other databases' queued runs; returns at once when nothing is left.
  void run() EXCLUDES(mu_);
  // Asks for a run (the builder is idle) or wakes the running one; the run sees the state set
  // before this call.
  void wake_builder() REQUIRES(mu_);
  // The builder's work for one run, without mu_; returns the error ("" when none), already
  // noted and logged, after which the builder starts over from the recorded position.
  std::string build_unlocked(Run kind, const std::vector<CommitNotice>& batch,
                             const std::optional<LocalState>& recorded);
  void note_events(const std::vector<BuildEvent>& events) REQUIRES(mu_);
  // After a failed run: releases what a failed first run leaves queued and puts the next one a
  // moment off; false when the stage is stopping and nothing is left.
  bool after_failure(bool first) REQUIRES(mu_);
  // Every commit queued so far counts as processed: waiters return (nothing is left to build,
  // or the next first run ships it).
  void release_waiters() REQUIRES(mu_);
  void wait_until_built(base::MutexLock& lock, uint64_t seq) REQUIRES(mu_);
  // Moves the next batch of queued commits into `batch`, bounded by the spool limit.
  void take_batch_within_spool_limit(std::vector<CommitNotice>& batch) REQUIRES(mu_);
  // Lets commits gather into the next batch (BatchPacing), unless someone waits for the build.
  void gather(base::MutexLock& lock, BatchPacing::LastBatch& last_batch) REQUIRES(mu_);
  // Where the builder resumes after a failed run: the spool's newest record or the recorded
  // state.
  std::optional<LocalState> position_to_resume() const;
  void log(base::LogSeverity severity, const std::string& message) const;

  // Constant after construction.
  const Config& config_;
  Spool& spool_;
  ErrorNote& errors_;
  const base::LogSink log_;
  const AfterBatch after_batch_;

  // The builder's runs' alone (between start() and stop()); runs never overlap.
  LtxBuilder& builder_;
  std::optional<LocalState> recorded_;
  std::string recorded_problem_;
  BatchPacing::LastBatch last_batch_;  // how the last gathering went (BatchPacing)

  mutable base::Mutex mu_;
  std::condition_variable work_cv_;   // -> a running builder (gathering, after a failure)
  std::condition_variable built_cv_;  // the builder -> build waiters
  std::vector<CommitNotice> queue_ GUARDED_BY(mu_);
  uint64_t queued_frames_ GUARDED_BY(mu_) = 0;  // WAL frames of the commits in queue_
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  uint64_t processed_seq_ GUARDED_BY(mu_) = 0;
  uint64_t seq_txid_ GUARDED_BY(mu_) = 0;           // newest TXID when processed_seq_ was reached
  bool initial_sync_done_ GUARDED_BY(mu_) = false;  // the builder knows the position
  bool idle_ GUARDED_BY(mu_) = true;        // no run is going on or asked for: wake_builder() asks
  bool napping_ GUARDED_BY(mu_) = false;    // letting commits gather after a batch
  BatchPacing::Pace pace_ GUARDED_BY(mu_);  // ... and how: wake it when full? batch size?
  bool snapshot_requested_ GUARDED_BY(mu_) = false;
  // After a failed first run: the next is not before this (a persistent error is not retried in
  // a loop), unless the stage stops.
  std::optional<std::chrono::steady_clock::time_point> retry_at_ GUARDED_BY(mu_);
  bool written_outside_wal_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  uint64_t built_waiters_ GUARDED_BY(mu_) = 0;
  BuildStats stats_ GUARDED_BY(mu_);  // output only
  // Last: uses the above. Idle, the spool's log descriptor is closed once everything in it was
  // uploaded (the upload stage does the same when idle: whichever comes last).
  base::PooledTask task_{[this] { run(); },
                         [this] {
                           spool_.close_idle_log();
                           builder_.release_idle();
                         }};
};

}  // namespace ltxvfs::writer
