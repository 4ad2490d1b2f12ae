#include "vfs/writer/history_stage.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/backoff.h"
#include "base/time_spec.h"
#include "storage/replica_layout.h"

namespace ltxvfs::writer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

HistoryStage::HistoryStage(std::unique_ptr<history::HistoryEngine> engine, base::LogSink log,
                           std::function<bool()> may_run, std::function<uint64_t()> uploads,
                           std::function<void()> after_written, base::Scheduler& scheduler)
    : log_(std::move(log)),
      may_run_(std::move(may_run)),
      uploads_(std::move(uploads)),
      after_written_(std::move(after_written)),
      scheduler_(scheduler),
      poke_every_(engine->policy().early_index_bytes / 4),
      engine_(std::move(engine)),
      poke_at_(poke_every_) {}

HistoryStage::~HistoryStage() {
  stop();
}

void HistoryStage::start(std::optional<history::History> listed) {
  listed_ = std::move(listed);
  next_ = Clock::now();  // the first run at once: it may be the connection's only one
  {
    base::MutexLock lock(mu_);
    started_ = true;
  }
  task_.start();
}

void HistoryStage::finish() {
  {
    base::MutexLock lock(mu_);
    finish_ = true;
  }
  task_.notify();
  task_.hurry();  // the close waits for it
}

bool HistoryStage::wait_finished_until(Clock::time_point deadline) {
  base::MutexLock lock(mu_);
  if (!started_) return true;
  return lock.wait_until(ended_cv_, deadline, [&]() REQUIRES(mu_) { return ended_; });
}

void HistoryStage::stop() {
  uint64_t job = 0;
  {
    base::MutexLock lock(mu_);
    stop_ = true;
    job = std::exchange(wake_job_, 0);
  }
  // No run adds a job once stop_ is set (hand_off looks under mu_).
  if (job != 0) scheduler_.cancel(job);
  task_.notify();  // a last run ends the stage (ended_)
  task_.stop();
}

void HistoryStage::end() {
  {
    base::MutexLock lock(mu_);
    ended_ = true;
  }
  ended_cv_.notify_all();
}

bool HistoryStage::hand_off() {
  uint64_t fired = 0;
  {
    base::MutexLock lock(mu_);
    fired = std::exchange(wake_job_, 0);
  }
  // The job that asked for this run (one-shot: it has fired); cancel() also waits for it to
  // return, so no job of this stage is left behind.
  if (fired != 0) scheduler_.cancel(fired);
  base::MutexLock lock(mu_);
  if (stop_ || finish_) return false;
  wake_job_ = scheduler_.add(next_, [this] {
    task_.notify();
    return base::Scheduler::Clock::time_point::max();
  });
  return true;
}

void HistoryStage::note_uploaded(uint64_t short_index_bytes) {
  {
    base::MutexLock lock(mu_);
    if (poke_every_ == 0 || short_index_bytes < poke_at_) return;
    poke_at_ = short_index_bytes + poke_every_;
    poked_ = true;
  }
  task_.notify();  // a run that finds nothing due early reads head.json and lists: 2 requests
}

HistoryStats HistoryStage::stats() const {
  base::MutexLock lock(mu_);
  return stats_;
}

bool HistoryStage::note_run(const history::HistoryRunReport& report, const std::string& error,
                            bool stopped_for_good) {
  base::MutexLock lock(mu_);
  for (const auto& written : report.written) {
    if (written.file.level == storage::kSnapshotLevel) {
      ++stats_.snapshots;
    } else {
      ++stats_.compactions;
    }
  }
  stats_.deleted_files += report.deleted.size();
  if (error.empty()) {
    stats_.history_error.clear();
    return true;
  }
  if (stats_.history_error != error && log_) {
    log_(stopped_for_good ? base::LogSeverity::kError : base::LogSeverity::kWarn,
         std::string("remote history ") +
             (stopped_for_good ? "stopped: " : "failed, will retry: ") + error);
  }
  stats_.history_error = error;
  return !stopped_for_good;
}

void HistoryStage::run() {
  for (;;) {
    {
      base::MutexLock lock(mu_);
      if (ended_) return;
      const bool end_now = stop_ || (finish_ && ran_);
      const bool due = finish_ || std::exchange(poked_, false) || Clock::now() >= next_;
      lock.unlock();
      if (end_now) return end();
      // Not due yet: no thread waits for it (the scheduler asks for the run then).
      if (!due && hand_off()) return;
      if (!due) continue;  // finish() or stop() came meanwhile
    }
    if (!run_engine()) return end();
  }
}

bool HistoryStage::run_engine() {
  // Only the lease holder shapes the remote history.
  if (!may_run_()) {
    listed_.reset();  // by the time it may, the open's listing is old: the run lists
    base::MutexLock lock(mu_);
    if (finish_) return false;
    next_ = Clock::now() + milliseconds(1000);
    return true;
  }
  history::HistoryRunReport report;
  std::string error;
  bool stopped_for_good = false;
  ran_ = true;
  try {
    // Asked before the run reads the store, so an upload meanwhile makes the next run read.
    const auto uploads = uploads_ ? std::optional<uint64_t>(uploads_()) : std::nullopt;
    report = engine_->run_due(base::now_ms(), std::exchange(listed_, std::nullopt), uploads);
  } catch (const history::WorkStopped&) {
    return false;  // closing
  } catch (const history::HistoryConflict& e) {
    error = e.what();
    stopped_for_good = true;
  } catch (const storage::StoreError& e) {
    // Cancelled: the close ran out of time (the writer logs it); nothing to retry.
    if (e.kind() == storage::StoreErrorKind::kCancelled) return false;
    error = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!note_run(report, error, stopped_for_good)) return false;
  if (error.empty() && !report.written.empty() && after_written_) {
    try {
      after_written_();
    } catch (const std::exception& e) {
      // Only hints: the next upload carries them (a lost head is the uploads' to report).
      if (log_) {
        log_(base::LogSeverity::kInfo,
             std::string("the head's hints for the new history files wait for the next upload: ") +
                 e.what());
      }
    }
  }
  if (!error.empty()) {
    next_ = Clock::now() + backoff_.next();
    return true;
  }
  backoff_.reset();
  // When something is due next (wall clock), at least a second from now.
  const int64_t wait_ms = std::clamp<int64_t>(report.next_due_ms - base::now_ms(), 1000, 3'600'000);
  next_ = Clock::now() + milliseconds(wait_ms);
  return true;
}

}  // namespace ltxvfs::writer
