#include "base/pooled_task.h"

#include <atomic>
#include <condition_variable>
#include <optional>
#include <thread>
#include <utility>

#include "base/mutex.h"
#include "base/scheduler.h"

namespace ltxvfs::base {
namespace {

using Clock = PooledTask::Clock;
constexpr Clock::time_point kNever = Clock::time_point::max();

std::atomic<int64_t> idle_after_for_testing_ms{0};

std::chrono::milliseconds configured_idle_after() {
  const int64_t ms = idle_after_for_testing_ms.load();
  return ms > 0 ? std::chrono::milliseconds(ms) : PooledTask::kIdleAfter;
}

}  // namespace

// The task's state, shared with the pool's queue and the scheduler's timers.
struct PooledTask::Core : WorkerPool::Item, std::enable_shared_from_this<PooledTask::Core> {
  Core(WorkerPool& in, std::function<void()> run_fn, std::function<void()> on_idle_fn)
      : pool(in),
        run(std::move(run_fn)),
        on_idle(std::move(on_idle_fn)),
        idle_after(configured_idle_after()) {}

  void run_from_pool() override EXCLUDES(mu);
  // Queues a run unless one is queued or going on (its end queues the next when asked).
  void enqueue(bool front) REQUIRES(mu);
  void watch_idle() REQUIRES(mu);
  Clock::time_point idle_check() EXCLUDES(mu);

  // Constant after construction.
  WorkerPool& pool;
  const std::function<void()> run;
  const std::function<void()> on_idle;
  const std::chrono::milliseconds idle_after;

  Mutex mu;
  std::condition_variable done_cv;  // a run ended: stop() waits for none queued or going on
  bool started GUARDED_BY(mu) = false;
  bool stopping GUARDED_BY(mu) = false;
  bool requested GUARDED_BY(mu) = false;  // a run was asked for since the last one began
  bool queued GUARDED_BY(mu) = false;     // in the pool's queue
  bool running GUARDED_BY(mu) = false;
  std::thread::id runner GUARDED_BY(mu);       // the worker in run(), while running
  bool hurried GUARDED_BY(mu) = false;         // the next enqueue goes to the front
  bool idle_due GUARDED_BY(mu) = false;        // the queued item calls on_idle, not run
  bool ran_since_idle GUARDED_BY(mu) = false;  // on_idle has something to give back
  bool idle_watched GUARDED_BY(mu) = false;    // a scheduler job will look at last_end
  Clock::time_point last_end GUARDED_BY(mu);
  std::optional<Clock::time_point> wake_at GUARDED_BY(mu);  // the earliest notify_at() pending
};

void PooledTask::Core::enqueue(bool front) {
  if (queued || running) return;
  queued = true;
  pool.submit(shared_from_this(), front || hurried);
}

void PooledTask::Core::run_from_pool() {
  bool idle_call;
  {
    MutexLock lock(mu);
    queued = false;
    // A run asked for meanwhile goes first; on_idle is not due any more then.
    idle_call = idle_due && !requested;
    idle_due = false;
    if (idle_call && stopping) {
      done_cv.notify_all();  // nothing queued (just taken) or going on: stop() may return
      return;
    }
    running = true;
    hurried = false;
    runner = std::this_thread::get_id();
    requested = false;
  }
  if (idle_call) {
    on_idle();
  } else {
    run();
  }
  MutexLock lock(mu);
  running = false;
  runner = {};
  last_end = Clock::now();
  if (!idle_call) ran_since_idle = true;
  if (requested) {
    if (stopping) hurried = true;  // stop() waits for it: to the front
    enqueue(false);
  } else if (!stopping && on_idle && ran_since_idle) {
    watch_idle();
  }
  if (!queued) done_cv.notify_all();
}

void PooledTask::Core::watch_idle() {
  if (idle_watched) return;
  idle_watched = true;
  Scheduler::process().add(last_end + idle_after,
                           [core = shared_from_this()] { return core->idle_check(); });
}

Clock::time_point PooledTask::Core::idle_check() {
  MutexLock lock(mu);
  if (stopping || queued || running || !ran_since_idle) {
    idle_watched = false;  // a run's end watches again
    return kNever;
  }
  const Clock::time_point due = last_end + idle_after;
  if (Clock::now() < due) return due;
  idle_watched = false;
  ran_since_idle = false;
  idle_due = true;
  enqueue(false);
  return kNever;
}

void PooledTask::set_idle_after_for_testing(std::chrono::milliseconds idle) {
  idle_after_for_testing_ms = idle.count();
}

PooledTask::PooledTask(std::function<void()> run, std::function<void()> on_idle, WorkerPool* pool)
    : core_(std::make_shared<Core>(pool != nullptr ? *pool : WorkerPool::process(), std::move(run),
                                   std::move(on_idle))) {}

PooledTask::~PooledTask() {
  stop();
}

void PooledTask::start() {
  {
    MutexLock lock(core_->mu);
    core_->started = true;
  }
  notify();
}

void PooledTask::notify() {
  Core& c = *core_;
  MutexLock lock(c.mu);
  // While stop() waits, only the run itself asks for more: it has work left that stop() must
  // let it do (a queue longer than one batch).
  if (!c.started || (c.stopping && c.runner != std::this_thread::get_id())) return;
  c.requested = true;
  c.enqueue(false);
}

void PooledTask::notify_at(Clock::time_point when) {
  Core& c = *core_;
  MutexLock lock(c.mu);
  if (!c.started || c.stopping) return;
  if (c.wake_at && *c.wake_at <= when) return;
  c.wake_at = when;
  // One job per earlier ask; a job whose ask was overtaken by an earlier one finds wake_at
  // moved on (or reset by it) and does nothing.
  Scheduler::process().add(when, [core = core_, when] {
    MutexLock core_lock(core->mu);
    if (core->wake_at == when) {
      core->wake_at.reset();
      if (!core->stopping) {
        core->requested = true;
        core->enqueue(false);
      }
    }
    return kNever;
  });
}

void PooledTask::hurry() {
  Core& c = *core_;
  MutexLock lock(c.mu);
  c.hurried = true;
  if (c.queued) c.pool.hurry(&c);
}

void PooledTask::stop() {
  Core& c = *core_;
  MutexLock lock(c.mu);
  c.stopping = true;
  c.wake_at.reset();
  // A closing database's last runs go first: its close does not wait behind other databases'
  // work (issue 18: no close waits on another database).
  c.hurried = true;
  if (c.queued) c.pool.hurry(&c);
  lock.wait(c.done_cv, [&]() REQUIRES(c.mu) { return !c.queued && !c.running; });
}

bool PooledTask::busy() const {
  MutexLock lock(core_->mu);
  return core_->queued || core_->running;
}

}  // namespace ltxvfs::base
