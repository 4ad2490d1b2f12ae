#include "vfs/writer/lease_keeper.h"

#include <algorithm>
#include <thread>

#include "base/time_util.h"
#include "history/remote_compactor.h"
#include "storage/object_store.h"
#include "vfs/writer/uploader.h"

namespace ltxvfs::writer {
namespace {

using Clock = base::Scheduler::Clock;
using std::chrono::milliseconds;

}  // namespace

LeaseKeeper::LeaseKeeper(std::unique_ptr<history::WriterLease> lease, std::string where,
                         base::LogSink log, std::function<void(const std::string&)> on_lost)
    : lease_(std::move(lease)),
      where_(std::move(where)),
      log_(std::move(log)),
      on_lost_(std::move(on_lost)) {}

LeaseKeeper::~LeaseKeeper() {
  stop_renewing();
}

void LeaseKeeper::acquire_at_open(milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  for (;;) {
    history::LeaseAttempt attempt;
    try {
      attempt = lease_->try_acquire();
    } catch (const storage::StoreError& e) {
      if (!e.retriable()) {
        throw std::runtime_error(std::string("cannot take the writer lease: ") + e.what());
      }
      // Unreachable store: open anyway; the upload stage takes the lease before it uploads.
      if (log_) {
        log_(base::LogSeverity::kWarn,
             std::string("cannot reach the replica at open to take the writer lease, will keep "
                         "trying: ") +
                 e.what());
      }
      return;
    }
    note();
    if (attempt.acquired) return;
    if (Clock::now() >= deadline) {
      throw std::runtime_error(where_ + " is being replicated by another writer (its lease is " +
                               attempt.holder +
                               "); one writer per replica location. Close the other writer, "
                               "wait for it longer (lease_wait_ms=" +
                               std::to_string(wait.count()) + " now), or point replica= elsewhere");
    }
    std::this_thread::sleep_until(std::min(deadline, Clock::now() + milliseconds(250)));
  }
}

void LeaseKeeper::start_renewing(base::Scheduler& scheduler) {
  base::MutexLock lock(mu_);
  scheduler_ = &scheduler;
  job_ = scheduler.add(Clock::now() + milliseconds(100), [this] { return renew_job(); });
}

bool LeaseKeeper::stop_renewing(Clock::time_point deadline) {
  base::Scheduler* scheduler;
  uint64_t job;
  {
    base::MutexLock lock(mu_);
    scheduler = scheduler_;
    job = job_;
  }
  if (scheduler == nullptr) return true;
  if (!scheduler->cancel_until(job, deadline)) return false;
  base::MutexLock lock(mu_);
  scheduler_ = nullptr;
  job_ = 0;
  return true;
}

Clock::time_point LeaseKeeper::renew_job() {
  if (!conflict().empty()) return Clock::time_point::max();  // stopped for good
  base::MutexLock renewing(renew_mu_);
  const auto started = history::SteadyClock::now();
  bool stopped = false;
  try {
    if (!lease_->held() || lease_->needs_renewal()) stopped = !renew_or_lose();
  } catch (const std::exception&) {
    // The store failed: try again soon (the lease stays held until it expires; uploads stop
    // after that until a renewal gets through).
  }
  base::MutexLock lock(mu_);
  // Recorded when the attempt has ended, its verdict noted: a write check that finds an attempt
  // since the expiry knows its outcome is in (check_before_write).
  last_attempt_ = started;
  if (stopped) return Clock::time_point::max();
  if (!held_) return Clock::now() + milliseconds(1000);
  // Renewals are due every TTL/3; looking again at half the time left keeps them on time.
  const auto left = valid_until_ - history::SteadyClock::now();
  const auto wait = std::clamp<history::SteadyClock::duration>(left / 2, milliseconds(100),
                                                               std::chrono::seconds(10));
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(wait);
}

bool LeaseKeeper::renew_or_lose() {
  try {
    if (!lease_->held()) return acquire_or_lose();
    lease_->renew();
  } catch (const history::LeaseLost& e) {
    note();
    lost(e.what());
    return false;
  } catch (...) {
    note();
    throw;
  }
  note();
  return true;
}

bool LeaseKeeper::acquire_or_lose() {
  const auto attempt = lease_->try_acquire();
  note();
  if (attempt.acquired) return true;
  lost(where_ + " is being replicated by another writer (its lease is " + attempt.holder +
       "): this process stopped uploading. Close it; the other writer continues the replica");
  return false;
}

void LeaseKeeper::check_for_upload() {
  if (std::string why = conflict(); !why.empty()) throw RemoteConflict(why);
  if (!lease_->held()) {
    base::MutexLock renewing(renew_mu_);
    if (std::string why = conflict(); !why.empty()) throw RemoteConflict(why);
    if (!renew_or_lose()) throw RemoteConflict(conflict());
    return;
  }
  if (history::SteadyClock::now() >= lease_->valid_until()) {
    // Could not renew in time: another writer may hold it by now. Uploading waits until a
    // renewal succeeds (or shows the lease was taken).
    throw storage::StoreError(storage::StoreErrorKind::kUnavailable,
                              "the writer lease expired before it could be renewed");
  }
}

void LeaseKeeper::confirm_owner() {
  base::MutexLock renewing(renew_mu_);
  if (std::string why = conflict(); !why.empty()) throw history::HistoryConflict(why);
  if (!renew_or_lose()) throw history::HistoryConflict(conflict());
}

void LeaseKeeper::check_before_write() {
  const auto due = [this]() REQUIRES(mu_) {
    return conflict_.empty() && held_ && history::SteadyClock::now() >= valid_until_ &&
           last_attempt_ < valid_until_;
  };
  {
    base::MutexLock lock(mu_);
    if (!due()) return;  // the common case: one uncontended lock, no store call
  }
  // A renewal in flight (the job's, just woken after the pause) ends first, with its verdict
  // recorded; only if none was attempted since the expiry does this one call the store.
  base::MutexLock renewing(renew_mu_);
  {
    base::MutexLock lock(mu_);
    if (!due()) return;
  }
  const auto started = history::SteadyClock::now();
  try {
    renew_or_lose();  // a loss is recorded (conflict()): the caller's refusal follows
  } catch (const std::exception&) {
    // The store failed: refuse nothing; the renewal job goes on trying.
  }
  base::MutexLock lock(mu_);
  last_attempt_ = started;
}

bool LeaseKeeper::fresh() const {
  base::MutexLock lock(mu_);
  return held_ && conflict_.empty() && history::SteadyClock::now() < valid_until_;
}

std::string LeaseKeeper::conflict() const {
  base::MutexLock lock(mu_);
  return conflict_;
}

history::HeadIdentity LeaseKeeper::identity() const {
  base::MutexLock lock(mu_);
  return {lease_->owner(), generation_};
}

std::string LeaseKeeper::describe() const {
  base::MutexLock lock(mu_);
  if (!held_) return "not held";
  const int64_t until_ms =
      std::chrono::duration_cast<milliseconds>(expires_.time_since_epoch()).count();
  return "held (generation " + std::to_string(generation_) + ", until " +
         base::format_rfc3339_ms(until_ms) + ")";
}

void LeaseKeeper::release() {
  stop_renewing();
  try {
    lease_->release();  // the next writer need not wait for it to expire
  } catch (const std::exception& e) {
    if (log_) {
      log_(base::LogSeverity::kInfo,
           std::string("closing: the writer lease was not released (it expires by itself): ") +
               e.what());
    }
  }
  note();
}

void LeaseKeeper::note() {
  // Read outside mu_: the lease's calls take its own mutex, which is held during store calls.
  const bool held = lease_->held();
  const auto expires = lease_->expires_at();
  const auto valid_until = lease_->valid_until();
  const uint64_t generation = lease_->generation();
  base::MutexLock lock(mu_);
  held_ = held;
  expires_ = expires;
  valid_until_ = valid_until;
  generation_ = generation;
}

void LeaseKeeper::lost(const std::string& why) {
  {
    base::MutexLock lock(mu_);
    if (!conflict_.empty()) return;
    conflict_ = why;
  }
  if (log_) log_(base::LogSeverity::kError, "replication stopped: " + why);
  if (on_lost_) on_lost_(why);
}

}  // namespace ltxvfs::writer
