#include "vfs/writer/upload_stage.h"

#include <algorithm>
#include <optional>

#include "base/time_spec.h"

namespace ltxvfs::writer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

UploadStage::UploadStage(const Config& config, Uploader& uploader, Spool& spool, SyncStage& sync,
                         LeaseKeeper& lease, ErrorNote& errors, base::LogSink log, Hooks hooks)
    : config_(config),
      spool_(spool),
      sync_(sync),
      lease_(lease),
      errors_(errors),
      log_(std::move(log)),
      hooks_(std::move(hooks)),
      uploader_(uploader) {}

UploadStage::~UploadStage() {
  stop();
}

void UploadStage::start(uint64_t uploaded_txid) {
  {
    base::MutexLock lock(mu_);
    uploaded_txid_ = uploaded_txid;
    started_ = true;
  }
  task_.start();
}

void UploadStage::run() {
  if (!upload_once()) return;
  {
    base::MutexLock lock(mu_);
    stopped_ = true;
  }
  stopped_cv_.notify_all();
}

void UploadStage::wake_uploader() {
  // Also when a run is going on or put off (a window, a backoff): the run asked for here sees
  // what was set before this call (a stop, a conflict, a durability waiter) and acts on it.
  idle_ = false;
  task_.notify();
}

void UploadStage::request_stop() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
    wake_uploader();  // a last run uploads what is left, within close_timeout_ms
  }
  task_.hurry();  // the close waits for it
}

bool UploadStage::wait_stopped_until(std::chrono::steady_clock::time_point deadline) {
  base::MutexLock lock(mu_);
  if (!started_) return true;
  return lock.wait_until(stopped_cv_, deadline, [&]() REQUIRES(mu_) { return stopped_; });
}

void UploadStage::stop() {
  request_stop();
  task_.stop();
  uploaded_cv_.notify_all();
}

void UploadStage::log(base::LogSeverity severity, const std::string& message) const {
  if (log_) log_(severity, message);
}

bool UploadStage::pending() const {
  return spool_.count() != 0;
}

void UploadStage::notify() {
  base::MutexLock lock(mu_);
  // Only an idle uploader is told: in its window it would wake for nothing.
  if (idle_) wake_uploader();
}

void UploadStage::stop_for_conflict(const std::string& why) {
  {
    base::MutexLock lock(mu_);
    if (!conflict_.empty()) return;
    conflict_ = why;
    lost_ownership_ = true;
  }
  errors_.set(why);
  uploaded_cv_.notify_all();
  base::MutexLock lock(mu_);
  wake_uploader();
}

bool UploadStage::wait_uploaded(uint64_t txid) {
  base::MutexLock lock(mu_);
  const auto deadline = Clock::now() + milliseconds(config_.remote_timeout_ms);
  ++durability_waiters_;
  if (!idle_) task_.notify();  // ends the uploader's batching window
  task_.hurry();               // a commit waits: before other databases' queued runs
  lock.wait_until(uploaded_cv_, deadline, [&]() REQUIRES(mu_) {
    return uploaded_txid_ >= txid || !conflict_.empty() || stop_;
  });
  --durability_waiters_;
  if (uploaded_txid_ >= txid) return true;
  const std::string last_error = errors_.get();
  const std::string why =
      !conflict_.empty() ? conflict_
                         : (last_error.empty() ? std::string("no acknowledgement within ") +
                                                     std::to_string(config_.remote_timeout_ms) +
                                                     " ms (remote_timeout_ms)"
                                               : last_error);
  remote_failure_txid_ = std::max(remote_failure_txid_.load(), txid);
  remote_failure_ = "TXID " + std::to_string(txid) +
                    " is committed locally but the store has not acknowledged it: " + why;
  log(base::LogSeverity::kError, "durability=remote: " + remote_failure_);
  return false;
}

std::string UploadStage::write_refusal() {
  // A lease that ran out while the process was paused is looked at first (no store call
  // otherwise), so the first write after a takeover is refused, not the second.
  lease_.check_before_write();
  // Another writer owns the replica now: a commit here could never reach it, and the database
  // would silently drift from its replica. Refused in every durability mode (reads go on).
  if (lost_ownership_.load()) {
    base::MutexLock lock(mu_);
    return "writes are refused: " + conflict_ +
           ". This database no longer matches its replica's owner; close it, then restore the "
           "replica (`ltxvfs restore`) to continue from it, or point replica= elsewhere";
  }
  // The common case without the mutex the uploader also takes: a failure recorded before this
  // call is seen, one recorded at the same moment may or may not be (as with the mutex).
  if (remote_failure_txid_.load() == 0) return {};
  base::MutexLock lock(mu_);
  if (remote_failure_txid_ == 0) return {};
  if (uploaded_txid_ >= remote_failure_txid_) {
    remote_failure_txid_ = 0;
    remote_failure_.clear();
    return {};
  }
  return "durability=remote: writes are refused until the store has acknowledged earlier "
         "commits (" +
         remote_failure_ + "). They resume by themselves once it has; ltx_stats() shows " +
         "the upload's progress";
}

UploadStats UploadStage::stats() const {
  base::MutexLock lock(mu_);
  UploadStats s = stats_;
  s.uploaded_txid = uploaded_txid_;
  s.conflict = conflict_;
  s.remote_failure = remote_failure_;
  return s;
}

Uploader::Outcome UploadStage::upload_pass(uint64_t pass_target) {
  // One info line per pass that shipped something (issue 19: even at LTXVFS_LOG=info nothing
  // said that replication works).
  const uint64_t objects_before = uploader_.objects_uploaded();
  const uint64_t bytes_before = uploader_.bytes_uploaded();
  // The first object's own first TXID: the remote TXID before the pass is not known yet on a
  // pass that takes the head, and "TXIDs 1-N" then read like a snapshot.
  uint64_t first_txid = 0;
  const auto summarize = [&] {
    const uint64_t objects = uploader_.objects_uploaded() - objects_before;
    if (objects == 0) return;
    log(base::LogSeverity::kInfo,
        "uploaded TXIDs " + std::to_string(first_txid) + "-" +
            std::to_string(uploader_.remote_txid().value_or(0)) + ": " + std::to_string(objects) +
            (objects == 1 ? " object, " : " objects, ") +
            std::to_string(uploader_.bytes_uploaded() - bytes_before) + " bytes");
  };
  for (;;) {
    // Before every PUT, not once per pass (issue 16, item 3): a pass that uploads a backlog
    // takes many PUTs, and the lease may run out or change hands between them. No store call
    // while the lease is valid.
    lease_.check_for_upload();
    const auto outcome = uploader_.step();
    if (outcome == Uploader::Outcome::kUploaded && first_txid == 0) {
      first_txid = uploader_.last_min_txid();
    }
    {
      base::MutexLock lock(mu_);
      if (uploader_.remote_txid()) {
        uploaded_txid_ = std::max(uploaded_txid_, *uploader_.remote_txid());
      }
      stats_.objects_uploaded = uploader_.objects_uploaded();
      stats_.bytes_uploaded = uploader_.bytes_uploaded();
      if (remote_failure_txid_ != 0 && uploaded_txid_ >= remote_failure_txid_) {
        remote_failure_txid_ = 0;
        remote_failure_.clear();
      }
      if (durability_waiters_ > 0) uploaded_cv_.notify_all();
      if (outcome == Uploader::Outcome::kUploaded) stats_.last_upload_ms = base::now_ms();
    }
    if (hooks_.spool_shrank) hooks_.spool_shrank();
    if (outcome == Uploader::Outcome::kUploaded && hooks_.uploaded) {
      hooks_.uploaded(uploader_.short_index_bytes());
    }
    if (outcome != Uploader::Outcome::kUploaded ||
        uploader_.remote_txid().value_or(0) >= pass_target) {
      summarize();
      if (outcome == Uploader::Outcome::kUploaded) errors_.clear();
      return outcome;
    }
    errors_.clear();
  }
}

bool UploadStage::closing_expired() {
  if (!stop_) return false;
  if (!close_deadline_) close_deadline_ = Clock::now() + milliseconds(config_.close_timeout_ms);
  return Clock::now() >= *close_deadline_;
}

bool UploadStage::back_off(const std::string& error) {
  // Retry for as long as it takes (with backoff); the application keeps committing and the spool
  // keeps everything meanwhile.
  ++stats_.upload_failures;
  ++failure_streak_;
  if (errors_.set(error)) log(base::LogSeverity::kWarn, "upload failed, will retry: " + error);
  if (closing_expired()) return false;
  retry_at_ = Clock::now() + backoff_.next();
  return true;
}

bool UploadStage::wait_for_time() {
  const auto interval = config_.durability == Durability::kRemote
                            ? milliseconds(0)
                            : milliseconds(config_.upload_interval_ms);
  const Clock::time_point now = Clock::now();
  // Backing off after a failure. Closing cuts the backoff short at the close's deadline only.
  if (retry_at_) {
    const Clock::time_point until = stop_ ? std::min(*retry_at_, *close_deadline_) : *retry_at_;
    if (now < until) {
      task_.notify_at(until);
      return true;
    }
    retry_at_.reset();
  }
  // The batching window: what is spooled meanwhile goes up together as one object. Skipped when
  // a commit waits for remote durability or the writer is closing (both ask for a run).
  if (!stop_ && durability_waiters_ == 0 && interval.count() > 0) {
    if (!window_end_) window_end_ = now + interval;
    if (now < *window_end_) {
      task_.notify_at(*window_end_);
      return true;
    }
  }
  window_end_.reset();
  return false;
}

bool UploadStage::upload_once() {
  base::MutexLock lock(mu_);
  // 1. Anything to upload? If not, no run comes until notify(). (The lease is renewed meanwhile
  //    by LeaseKeeper's job.)
  if (!(stop_ || pending() || !conflict_.empty())) {
    idle_ = true;
    return false;
  }
  idle_ = false;
  if (!conflict_.empty()) {
    // Uploading is unsafe: stay stopped (waiters have been told) until the writer closes; the
    // close's request_stop() asks for the run that ends it.
    if (stop_) return true;
    idle_ = true;
    return false;
  }
  if ((stop_ && !pending()) || closing_expired()) return true;
  // 2. A backoff or the batching window going on: the run they end comes then (idle_ stays
  //    false, so commits meanwhile ask for none).
  if (wait_for_time()) return false;
  // 3. Only durable records go up: make what is spooled durable.
  if (spool_.durable_txid() < spool_.max_txid()) {
    lock.unlock();
    sync_.wait(sync_.request());
    lock.lock();
  }
  // 4. Upload what is durable now. Not what becomes durable meanwhile (checkpoints make more
  //    durable all the time under a high commit rate): that waits for the next window, or the
  //    uploads would follow each other back to back, one PUT per upload's duration.
  const uint64_t pass_target = spool_.durable_txid();
  lock.unlock();
  Uploader::Outcome outcome = Uploader::Outcome::kIdle;
  std::string error, conflict;
  try {
    outcome = upload_pass(pass_target);
  } catch (const RemoteConflict& e) {
    conflict = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!conflict.empty()) {
    errors_.set(conflict);
    if (lease_.conflict().empty())
      log(base::LogSeverity::kError, "replication stopped: " + conflict);
    stop_for_conflict(conflict);  // asks for the run that looks at it
    return false;
  }
  lock.lock();
  if (!error.empty()) {
    if (!back_off(error)) return true;
    task_.notify();  // the next run puts itself off until the backoff ends
    return false;
  }
  if (failure_streak_ > 0) {
    log(base::LogSeverity::kInfo,
        "uploading again after " + std::to_string(failure_streak_) + " failed attempts");
    failure_streak_ = 0;
    backoff_.reset();
  }
  if (outcome == Uploader::Outcome::kNeedsSnapshot) {
    lock.unlock();
    return ask_for_snapshot();
  }
  // One pass per run: what is left goes in the next, after the other databases' queued runs,
  // unless the close or a commit waits for it: then it goes first, as the first run did (issue
  // 18: the first close of 400 databases just written waited 2.5 s for this run, which only
  // tells it the upload is done; behind uploads held by their stores, the close ran out of
  // close_timeout_ms and left its lease unreleased).
  task_.notify();
  if (stop_ || durability_waiters_ > 0) task_.hurry();
  return false;
}

bool UploadStage::ask_for_snapshot() {
  const bool asked = hooks_.request_snapshot && hooks_.request_snapshot();
  {
    base::MutexLock lock(mu_);
    if (!asked && stop_) return true;  // nobody builds it any more
    // Idle until the build stage's after_batch says it is spooled: set before looking whether
    // it is spooled already, so that one of the two asks for the run that uploads it.
    idle_ = true;
  }
  if (!asked || (hooks_.snapshot_pending && hooks_.snapshot_pending())) return false;
  base::MutexLock lock(mu_);
  if (idle_) wake_uploader();
  return false;
}

}  // namespace ltxvfs::writer
