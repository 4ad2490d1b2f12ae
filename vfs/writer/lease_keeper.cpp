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
                         base::LogSink log, std::function<void(const std::string&)> on_lost,
                         IdleLease idle)
    : lease_(std::move(lease)),
      where_(std::move(where)),
      log_(std::move(log)),
      on_lost_(std::move(on_lost)),
      idle_(std::move(idle)),
      steady_(idle_.steady ? idle_.steady : [] { return history::SteadyClock::now(); }) {
  base::MutexLock lock(mu_);
  last_activity_ = now();
  written_ttl_ = lease_->ttl();
}

LeaseKeeper::~LeaseKeeper() {
  stop_renewing();
}

void LeaseKeeper::acquire_at_open(milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  bool said_waiting = false;
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
    if (!said_waiting && Clock::now() < deadline && log_) {
      // Said at once: the error comes only after lease_wait_ms (10 s by default), and a second
      // writer waited that long in silence (issue 19, item 8).
      log_(base::LogSeverity::kWarn,
           where_ + " is being replicated by another writer (its lease is " + attempt.holder +
               "); waiting up to " + std::to_string(wait.count()) +
               " ms (lease_wait_ms) for it to close");
      said_waiting = true;
    }
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
  const auto wait = renew_due();
  if (!wait) return Clock::time_point::max();  // stopped for good
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(*wait);
}

std::optional<milliseconds> LeaseKeeper::renew_due() {
  if (!conflict().empty()) return std::nullopt;
  base::MutexLock renewing(renew_mu_);
  const auto started = now();
  bool idle;
  {
    base::MutexLock lock(mu_);
    idle = idle_at(started);
  }
  bool attempted = false, stopped = false;
  try {
    if (!lease_->held() || renewal_due(idle, started)) {
      attempted = true;
      stopped = !renew_or_lose();
    }
  } catch (const std::exception&) {
    // The store failed: try again soon (the lease stays held until it expires; uploads stop
    // after that until a renewal gets through).
  }
  {
    base::MutexLock lock(mu_);
    // Recorded when an attempt has ended, its verdict noted: a write check that finds an attempt
    // since the expiry knows its outcome is in (check_before_write). A look that made no attempt
    // is no attempt: an idle holder's looks come every 10 s after its validity lapsed.
    if (attempted) last_attempt_ = started;
    if (stopped) return std::nullopt;
    if (!held_) return milliseconds(1000);
  }
  return next_look(started);
}

bool LeaseKeeper::renewal_due(bool idle, history::SteadyClock::time_point at) const {
  const auto written = lease_->written_ttl();
  // The normal interval (TTL/3) while active, and for an idle writer's first idle renewal (its
  // record still asks for the normal TTL); an idle record every half of its own TTL. A writer
  // active again goes back to the normal interval, so its next renewal (within 10 s) writes the
  // normal TTL.
  if (!idle || written <= lease_->ttl()) return lease_->needs_renewal();
  return at - lease_->renewed_at() >= written / 2;
}

milliseconds LeaseKeeper::next_look(history::SteadyClock::time_point at) const {
  using Duration = history::SteadyClock::duration;
  const auto written = lease_->written_ttl();
  const auto renewed = lease_->renewed_at();
  Duration wait;
  if (written <= lease_->ttl()) {
    // Renewals are due every TTL/3; looking again at half the time left keeps them on time.
    base::MutexLock lock(mu_);
    wait = (valid_until_ - at) / 2;
  } else {
    // An idle record: its renewal is due half its TTL after it was written; a failed one
    // is retried at half the time the record has left. Looks stay at most 10 s apart, so a writer
    // active again gets the normal TTL back within 10 s.
    const auto due = renewed + written / 2;
    wait = due > at ? due - at : (renewed + written - at) / 2;
  }
  return std::chrono::duration_cast<milliseconds>(
      std::clamp<Duration>(wait, milliseconds(100), std::chrono::seconds(10)));
}

bool LeaseKeeper::idle_at(history::SteadyClock::time_point at) const {
  return idle_.ttl.count() > 0 && at - last_activity_ >= idle_.after;
}

bool LeaseKeeper::idle() const {
  base::MutexLock lock(mu_);
  return idle_at(now());
}

bool LeaseKeeper::renew_or_lose() {
  bool idle;
  {
    base::MutexLock lock(mu_);
    idle = idle_at(now());
  }
  // An idle writer's record asks for the idle TTL; any other, for the normal one. (Outside mu_:
  // the lease's mutex is held across its store calls.)
  lease_->set_record_ttl(idle ? idle_.ttl : milliseconds(0));
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
    {
      base::MutexLock lock(mu_);
      last_activity_ = now();
    }
    base::MutexLock renewing(renew_mu_);
    if (std::string why = conflict(); !why.empty()) throw RemoteConflict(why);
    if (!renew_or_lose()) throw RemoteConflict(conflict());
    return;
  }
  // An idle writer's validity lapses between its renewals: the write transaction before this
  // upload has normally renewed it already; if not, this does.
  renew_if_lapsed();
  if (std::string why = conflict(); !why.empty()) throw RemoteConflict(why);
  if (now() >= lease_->valid_until()) {
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
  renew_if_lapsed();
}

void LeaseKeeper::renew_if_lapsed() {
  const auto due = [this]() REQUIRES(mu_) {
    return conflict_.empty() && held_ && now() >= valid_until_ && last_attempt_ < valid_until_;
  };
  {
    base::MutexLock lock(mu_);
    last_activity_ = now();
    if (!due()) return;  // the common case: one uncontended lock, no store call
  }
  // A renewal in flight (the job's, just woken after the pause) ends first, with its verdict
  // recorded; only if none was attempted since the expiry does this one call the store.
  base::MutexLock renewing(renew_mu_);
  {
    base::MutexLock lock(mu_);
    if (!due()) return;
  }
  const auto started = now();
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
  return held_ && conflict_.empty() && now() < valid_until_;
}

bool LeaseKeeper::may_run_history() const {
  base::MutexLock lock(mu_);
  const auto at = now();
  return held_ && conflict_.empty() && (at < valid_until_ || idle_at(at));
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
  std::string idle;
  if (written_ttl_ > lease_->ttl()) {
    idle = ", idle: renewed every " + std::to_string(written_ttl_.count() / 2000) + " s";
  }
  return "held (generation " + std::to_string(generation_) + ", until " +
         base::format_rfc3339_ms(until_ms) + idle + ")";
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
  const auto written_ttl = lease_->written_ttl();
  base::MutexLock lock(mu_);
  written_ttl_ = written_ttl;
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
