// UploadStage: the uploader's runs on the process's worker pool (base::PooledTask). It waits for
// spooled records, lets an upload interval's worth gather (none with remote durability, or when a
// commit waits for the store), makes them durable (SyncStage), checks the writer lease
// (LeaseKeeper) and has the Uploader ship them as level-0 objects, retrying failures with backoff
// for as long as it takes. A conflict (another writer, a store ahead of the spool) stops it for
// good.
//
// The batching window and the backoff hold no worker: a run that finds one of them going on asks
// for its next run when it ends (PooledTask::notify_at) and returns. Each run uploads one pass,
// then asks for the next after the other databases' queued runs.
//
// Concurrency contract: notify(), wait_uploaded(), write_refusal(), stop_for_conflict() and
// stats() may be called from any thread; the Uploader belongs to this stage's runs (they never
// overlap). The hooks are called in a run with no lock of this stage held. Lock order: this
// stage's mutex before the spool's (pending records are looked at under it); never before
// another stage's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/backoff.h"
#include "base/log_sink.h"
#include "base/mutex.h"
#include "base/pooled_task.h"
#include "vfs/writer/config.h"
#include "vfs/writer/error_note.h"
#include "vfs/writer/lease_keeper.h"
#include "vfs/writer/spool.h"
#include "vfs/writer/sync_stage.h"
#include "vfs/writer/uploader.h"

namespace ltxvfs::writer {

struct UploadStats {
  uint64_t uploaded_txid = 0;  // newest TXID the store acknowledged
  uint64_t objects_uploaded = 0;
  uint64_t bytes_uploaded = 0;
  uint64_t upload_failures = 0;
  int64_t last_upload_ms = 0;
  std::string conflict;        // non-empty: uploading stopped because it would be unsafe
  std::string remote_failure;  // non-empty: a remote-durability commit was not acknowledged
};

class UploadStage {
 public:
  struct Hooks {
    // The store lacks the history before the spool: ask for a snapshot (returns at once; the
    // build stage's after_batch notifies this stage when it is spooled); false when stopping.
    std::function<bool()> request_snapshot;
    // The snapshot asked for is not spooled yet.
    std::function<bool()> snapshot_pending;
    // Uploaded records left the spool: an overflowed builder may resume.
    std::function<void()> spool_shrank;
    // An object went up; `short_index_bytes` is Uploader::short_index_bytes() after it.
    std::function<void(uint64_t short_index_bytes)> uploaded;
  };

  UploadStage(const Config& config, Uploader& uploader, Spool& spool, SyncStage& sync,
              LeaseKeeper& lease, ErrorNote& errors, base::LogSink log, Hooks hooks);
  ~UploadStage();  // stop()s
  UploadStage(const UploadStage&) = delete;
  UploadStage& operator=(const UploadStage&) = delete;

  // `uploaded_txid`: what the store already holds (listed at open).
  void start(uint64_t uploaded_txid) EXCLUDES(mu_);
  // Closing: uploads what is left for at most close_timeout_ms, then ends the thread.
  // request_stop() starts that and returns; wait_stopped_until() waits for the thread to be done
  // (false at `deadline`: cancel the store's calls, then stop()); stop() requests and joins.
  void request_stop() EXCLUDES(mu_);
  bool wait_stopped_until(std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_);
  void stop() EXCLUDES(mu_);

  // Records were spooled or made durable.
  void notify() EXCLUDES(mu_);
  // Remote durability: waits until the store acknowledged `txid`, at most remote_timeout_ms.
  // False (and the failure recorded for write_refusal()) when it was not acknowledged in time
  // or uploading stopped.
  bool wait_uploaded(uint64_t txid) EXCLUDES(mu_);
  // Non-empty when a new write transaction must be refused, saying why.
  std::string write_refusal() EXCLUDES(mu_);
  // Another writer took over (LeaseKeeper): stop uploading for good.
  void stop_for_conflict(const std::string& why) EXCLUDES(mu_);
  UploadStats stats() const EXCLUDES(mu_);

 private:
  // One run: returns true once closing is done (stopped_).
  void run() EXCLUDES(mu_);
  // Uploads one pass of what is spooled, or puts the run off while a backoff or the batching
  // window goes on; true once closing is done.
  bool upload_once() EXCLUDES(mu_);
  // A backoff or the batching window goes on: asks for the run that comes when it ends.
  bool wait_for_time() REQUIRES(mu_);
  // The store lacks the history before the spool: asks the build stage for a snapshot and idles
  // until it is spooled; true when nobody will build it (closing).
  bool ask_for_snapshot() EXCLUDES(mu_);
  // Asks for a run: the next one sees everything set before this call.
  void wake_uploader() REQUIRES(mu_);
  // One pass: uploads what was durable when it began. Returns the outcome of the last step.
  Uploader::Outcome upload_pass(uint64_t pass_target) EXCLUDES(mu_);
  bool pending() const;  // spooled records not yet acknowledged
  // Closing: true once close_timeout_ms passed since stop() was first seen.
  bool closing_expired() REQUIRES(mu_);
  // After a failed pass: counts and logs it, puts the next attempt off by the backoff; false
  // when closing ran out.
  bool back_off(const std::string& error) REQUIRES(mu_);

  // Upload retries wait 100 ms, doubling to at most 30 s (no jitter: one writer per replica).
  static constexpr std::chrono::milliseconds kFirstBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{30000};
  void log(base::LogSeverity severity, const std::string& message) const;

  // Constant after construction.
  const Config& config_;
  Spool& spool_;
  SyncStage& sync_;
  LeaseKeeper& lease_;
  ErrorNote& errors_;
  const base::LogSink log_;
  const Hooks hooks_;

  Uploader& uploader_;  // this stage's runs' alone

  mutable base::Mutex mu_;
  std::condition_variable uploaded_cv_;  // the uploader -> remote durability waiters
  bool idle_ GUARDED_BY(mu_) = true;     // no run is going on or asked for: wake_uploader() asks
  bool started_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;  // closing is done: a run saw stop_ and ended
  std::condition_variable stopped_cv_;    // the uploader -> wait_stopped_until()
  uint64_t durability_waiters_ GUARDED_BY(mu_) = 0;
  uint64_t uploaded_txid_ GUARDED_BY(mu_) = 0;
  std::string conflict_ GUARDED_BY(mu_);
  std::string remote_failure_ GUARDED_BY(mu_);
  // Written under mu_; atomic so that write_refusal() can see "nothing refused" without mu_ (it
  // runs at the start of every write transaction).
  std::atomic<uint64_t> remote_failure_txid_{0};
  // Set (under mu_) with conflict_, never cleared: write_refusal() reads it without mu_.
  std::atomic<bool> lost_ownership_{false};
  // The uploader's retry state.
  base::Backoff backoff_ GUARDED_BY(mu_){kFirstBackoff, kMaxBackoff};
  uint64_t failure_streak_ GUARDED_BY(mu_) = 0;
  std::optional<std::chrono::steady_clock::time_point> close_deadline_ GUARDED_BY(mu_);
  std::optional<std::chrono::steady_clock::time_point> retry_at_ GUARDED_BY(mu_);    // backing off
  std::optional<std::chrono::steady_clock::time_point> window_end_ GUARDED_BY(mu_);  // gathering
  UploadStats stats_ GUARDED_BY(mu_);  // output only (copies of the fields above and counters)
  // Last: uses the above. Idle, the spool's log descriptor is closed (everything was uploaded).
  base::PooledTask task_{[this] { run(); }, [this] { spool_.close_idle_log(); }};
};

}  // namespace ltxvfs::writer
