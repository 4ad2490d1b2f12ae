#include "vfs/writer/history_stage.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/backoff.h"
#include "base/named_thread.h"
#include "base/time_spec.h"
#include "storage/replica_layout.h"

namespace ltxvfs::writer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

HistoryStage::HistoryStage(std::unique_ptr<history::HistoryEngine> engine, base::LogSink log,
                           std::function<bool()> may_run, std::function<uint64_t()> uploads)
    : log_(std::move(log)),
      may_run_(std::move(may_run)),
      uploads_(std::move(uploads)),
      engine_(std::move(engine)) {}

HistoryStage::~HistoryStage() {
  stop();
}

void HistoryStage::start(std::optional<history::History> listed) {
  listed_ = std::move(listed);
  thread_ = base::start_named_thread("ltx-history", [this] {
    loop();
    {
      base::MutexLock lock(mu_);
      ended_ = true;
    }
    ended_cv_.notify_all();
  });
}

void HistoryStage::finish() {
  {
    base::MutexLock lock(mu_);
    finish_ = true;
  }
  cv_.notify_all();
}

bool HistoryStage::wait_finished_until(Clock::time_point deadline) {
  base::MutexLock lock(mu_);
  if (!thread_.joinable()) return true;
  return lock.wait_until(ended_cv_, deadline, [&]() REQUIRES(mu_) { return ended_; });
}

void HistoryStage::stop() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
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

void HistoryStage::loop() {
  // Failed runs are retried after 1 s, doubling to at most 60 s.
  base::Backoff backoff(milliseconds(1000), milliseconds(60000));
  auto next = Clock::now();  // the first run at once: it may be the connection's only one
  bool ran = false;
  for (;;) {
    {
      base::MutexLock lock(mu_);
      lock.wait_until(cv_, next, [&]() REQUIRES(mu_) { return stop_ || finish_; });
      if (stop_ || (finish_ && ran)) return;
    }
    // Only the lease holder shapes the remote history.
    if (!may_run_()) {
      listed_.reset();  // by the time it may, the open's listing is old: the run lists
      base::MutexLock lock(mu_);
      if (finish_) return;
      next = Clock::now() + milliseconds(1000);
      continue;
    }
    history::HistoryRunReport report;
    std::string error;
    bool stopped_for_good = false;
    ran = true;
    try {
      // Asked before the run reads the store, so an upload meanwhile makes the next run read.
      const auto uploads = uploads_ ? std::optional<uint64_t>(uploads_()) : std::nullopt;
      report = engine_->run_due(base::now_ms(), std::exchange(listed_, std::nullopt), uploads);
    } catch (const history::WorkStopped&) {
      return;  // closing
    } catch (const history::HistoryConflict& e) {
      error = e.what();
      stopped_for_good = true;
    } catch (const storage::StoreError& e) {
      // Cancelled: the close ran out of time (the writer logs it); nothing to retry.
      if (e.kind() == storage::StoreErrorKind::kCancelled) return;
      error = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!note_run(report, error, stopped_for_good)) return;
    if (!error.empty()) {
      next = Clock::now() + backoff.next();
      continue;
    }
    backoff.reset();
    // When something is due next (wall clock), at least a second from now.
    const int64_t wait_ms =
        std::clamp<int64_t>(report.next_due_ms - base::now_ms(), 1000, 3'600'000);
    next = Clock::now() + milliseconds(wait_ms);
  }
}

}  // namespace ltxvfs::writer
