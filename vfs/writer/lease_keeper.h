// LeaseKeeper: the writer's side of the writer lease (history::WriterLease on lock.json). Taken
// at open (waiting up to lease_wait_ms for a holder to release it), renewed by a job on the
// process's base::Scheduler, so a renewal never waits behind an upload or a compaction, checked
// before every upload and every history run, released at close.
//
// A renewal that finds another owner, or an acquisition (after the store was unreachable at
// open) that finds one, is a conflict: it is permanent for this writer, and on_lost is called
// once so the upload stage stops and tells its waiters.
//
// Idle (issue 18): a writer with no write transaction and no upload for IdleLease::after (60 s)
// renews rarely, writing a record with the longer IdleLease::ttl (5 min by default) every half
// of it (150 s) instead of a 30 s one every 10 s: 0.4 PUTs a minute instead of 6. It can, because
// the lease only says who *should* write: every upload is fenced by head.json and every history
// write and delete by a conditional renewal (HISTORY.md, "Ownership and fencing"). What it costs
// is takeover time: a taker on another host honours the longer record, so a crashed idle writer
// holds its location up to the idle TTL after its last renewal (5 min instead of 30 s; a restart
// on the same host takes it at once, as before: holder_is_gone). The holder's own validity stays
// the normal TTL from its last write (history/writer_lease.h says why), so while idle it lapses
// between renewals; that refuses nothing: the first write transaction after the lapse renews
// first (check_before_write: one conditional PUT, the normal TTL again), and one within the
// validity costs nothing, the job renewing with the normal TTL within 10 s.
//
// Concurrency contract: every method may be called from any thread. WriterLease serialises its
// own store calls; this class keeps a copy of the lease's state under its own mutex, so that
// stats and checks never wait behind a store call. on_lost is called with no lock held.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/log_sink.h"
#include "base/mutex.h"
#include "base/scheduler.h"
#include "history/head_keeper.h"
#include "history/writer_lease.h"

namespace ltxvfs::writer {

// No write transaction and no upload for this long: the writer is idle (a minute: two normal
// TTLs, so a writer committing every 30-45 s never switches).
inline constexpr std::chrono::milliseconds kIdleAfter{60'000};

struct IdleLease {
  // The TTL the record asks for while idle, renewed every half of it; zero: never idle (a
  // renewal every TTL/3 always). Half, not a third as the normal TTL: a failed idle renewal is
  // retried every 10 s, 15 times before the record runs out, and an idle writer that lost its
  // lease loses nothing but the next write (refused, naming the taker).
  std::chrono::milliseconds ttl{0};
  std::chrono::milliseconds after = kIdleAfter;
  // The monotonic clock, the lease's own (tests pass theirs); empty: steady_clock::now.
  std::function<history::SteadyClock::time_point()> steady;
};

class LeaseKeeper {
 public:
  // `where`: the replica location, for messages.
  LeaseKeeper(std::unique_ptr<history::WriterLease> lease, std::string where, base::LogSink log,
              std::function<void(const std::string& why)> on_lost, IdleLease idle = {});
  ~LeaseKeeper();  // stops renewing (does not release)
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // At open: takes the lease, waiting up to `wait` for another holder. Throws
  // std::runtime_error (for the user) when another writer keeps it; returns without it when the
  // store is unreachable (the upload stage takes it before its first upload).
  void acquire_at_open(std::chrono::milliseconds wait);
  // Renews (or takes) the lease on `scheduler` from now on, until stop_renewing().
  void start_renewing(base::Scheduler& scheduler) EXCLUDES(mu_);
  // Stops renewing; a renewal in progress (a store call) is waited for until `deadline`: false
  // when it still runs then (cancel the store's calls, then call stop_renewing() again).
  bool stop_renewing(base::Scheduler::Clock::time_point deadline =
                         base::Scheduler::Clock::time_point::max()) EXCLUDES(mu_);

  // Before an upload: returns when the lease is held and fresh (taking it if it is not held, and
  // renewing it as check_before_write does when it ran out with no renewal attempt since).
  // Throws RemoteConflict when another writer holds it, StoreError when the store failed or the
  // lease ran out before a renewal got through (try again later). Counts as activity.
  void check_for_upload() EXCLUDES(renew_mu_, mu_);
  // Right before the history engine writes or deletes (CompactionWork::confirm_owner): a
  // renewal now, a conditional write of the lease, so no cached "held" survives a pause of the
  // process. Throws history::HistoryConflict (and records the conflict) when another writer took
  // the lease, StoreError when the store failed (the run retries later).
  void confirm_owner() EXCLUDES(renew_mu_, mu_);
  // Before the application's write transaction: when the lease ran out with no renewal attempt
  // since (the process was paused, or the scheduler is late), renews now, so that a takeover
  // during a pause refuses the first write after it (on_lost), not a later one. At most one
  // store call per expiry; a store error refuses nothing (an outage must not stop local commits).
  // Counts as activity: an idle writer's lease is back at the normal TTL with this renewal, or
  // within 10 s by the job when it was still valid.
  void check_before_write() EXCLUDES(renew_mu_, mu_);
  // Held, unexpired and no conflict.
  bool fresh() const EXCLUDES(mu_);
  // The history engine may run: fresh, or held, no conflict and idle (an idle holder's validity
  // lapses between its rare renewals by design; the engine's every write and delete is preceded
  // by confirm_owner, a conditional renewal, so a run after a takeover changes nothing).
  bool may_run_history() const EXCLUDES(mu_);
  // No write transaction and no upload for IdleLease::after (never when the idle TTL is zero).
  bool idle() const EXCLUDES(mu_);
  // What the renewal job does at each wake-up (public for tests, which drive it on their own
  // clock): renews or takes the lease when due; returns how long until it should look again,
  // nullopt when it stopped for good (another writer holds the lease).
  std::optional<std::chrono::milliseconds> renew_due() EXCLUDES(renew_mu_, mu_);
  // Non-empty: another writer holds the lease; this one stopped for good.
  std::string conflict() const EXCLUDES(mu_);
  // The lease's owner and generation, written into the history's head (history/head_keeper.h).
  history::HeadIdentity identity() const EXCLUDES(mu_);
  // "held (generation N, until ...)" or "not held", for ltx_stats().
  std::string describe() const EXCLUDES(mu_);
  // Gives the lease up (closing); a failure is logged (the lease then runs out by itself).
  void release();

 private:
  // The scheduler's job: renew_due(), as a time point.
  base::Scheduler::Clock::time_point renew_job() EXCLUDES(renew_mu_, mu_);
  // Whether the job should renew now (`idle`: the writer is idle).
  bool renewal_due(bool idle, history::SteadyClock::time_point now) const;
  // When the job should look again after its attempt (or none) at `now`.
  std::chrono::milliseconds next_look(history::SteadyClock::time_point now) const EXCLUDES(mu_);
  // A write or an upload: renews when the lease ran out with no renewal attempt since (at most
  // one store call per expiry; a store error is swallowed), after noting the activity.
  void renew_if_lapsed() EXCLUDES(renew_mu_, mu_);
  bool idle_at(history::SteadyClock::time_point now) const REQUIRES(mu_);
  history::SteadyClock::time_point now() const { return steady_(); }
  // The lease is not held (the store was unreachable at open): takes it; when another writer
  // holds it, records the conflict (lost()) and returns false. Throws StoreError.
  bool acquire_or_lose() REQUIRES(renew_mu_) EXCLUDES(mu_);
  // One renewal (or, when the lease is not held, acquisition), its outcome noted: false when
  // another writer holds the lease (recorded: conflict()). Throws StoreError when the store
  // failed.
  bool renew_or_lose() REQUIRES(renew_mu_) EXCLUDES(mu_);
  // Copies the lease's state (after a call on the lease).
  void note() EXCLUDES(mu_);
  void lost(const std::string& why) EXCLUDES(mu_);

  // Constant after construction.
  const std::unique_ptr<history::WriterLease> lease_;
  const std::string where_;
  const base::LogSink log_;
  const std::function<void(const std::string&)> on_lost_;
  const IdleLease idle_;
  const std::function<history::SteadyClock::time_point()> steady_;

  // Serialises the decisions that renew or take the lease — the scheduler's job, the history's
  // confirmation, the check before a write — across their store call, so that one sees the
  // verdict (renewed, lost) of another that was in flight. Taken before mu_, never inside it.
  base::Mutex renew_mu_ ACQUIRED_BEFORE(mu_);
  mutable base::Mutex mu_;
  bool held_ GUARDED_BY(mu_) = false;
  history::WallClock::time_point expires_ GUARDED_BY(mu_){};        // written in lock.json
  history::SteadyClock::time_point valid_until_ GUARDED_BY(mu_){};  // what decisions use
  // When the newest *finished* renewal attempt began (the job's or a write check's).
  history::SteadyClock::time_point last_attempt_ GUARDED_BY(mu_){};
  // The newest write transaction or upload (construction counts: the open).
  history::SteadyClock::time_point last_activity_ GUARDED_BY(mu_){};
  std::chrono::milliseconds written_ttl_ GUARDED_BY(mu_){};  // what the record last asked for
  uint64_t generation_ GUARDED_BY(mu_) = 0;
  std::string conflict_ GUARDED_BY(mu_);
  base::Scheduler* scheduler_ GUARDED_BY(mu_) = nullptr;
  uint64_t job_ GUARDED_BY(mu_) = 0;
};

}  // namespace ltxvfs::writer
