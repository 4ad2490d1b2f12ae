// PooledTask: a stage's runs, done by the process's WorkerPool. notify() asks for a run; the
// stage's `run` then does a bounded piece of the work it sees (one batch, one upload pass) and
// returns, calling notify() first when more is left, so that other databases' runs get their turn
// (base/worker_pool.h). A stage holds no thread of its own: a process with a thousand databases
// holds the pool's workers, busy or not (issue 18).
//
// `run` never waits for time on a worker: work that falls due later (a batching window, a retry's
// backoff) is asked for with notify_at(), which hands the wait to the process's base::Scheduler.
// It may wait a few milliseconds on its own condition variables (BuildStage's gathering).
// `on_idle`, when given, is called (on a worker, never during a run) once the stage has had no run
// for kIdleAfter, for it to give back what it holds only while busy (a descriptor); the next
// run after it starts the count again.
//
// Concurrency contract: every method may be called from any thread, `run` is never called from
// two threads at once. A notify() after start() and before stop() began is always followed by a
// call of `run` that begins after it: the stage sets its state, then notifies, and loses nothing.
// stop() lets the runs asked for before it happen (moving them to the front of the pool's
// queue), then returns with none going on; notify() during or after stop() asks for none.
// notify() and notify_at() may be called with the caller's own mutex held (lock order: the
// caller's mutex, then this one, then the pool's or the scheduler's); `run` is called with no lock
// of this class held. Called from `run` itself, notify() asks for another run, also while stop()
// waits (the stage has work left that stop() must let it do), and stop() must not be called.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "base/worker_pool.h"

namespace ltxvfs::base {

class PooledTask {
 public:
  using Clock = std::chrono::steady_clock;
  // How long a stage goes without a run before on_idle: longer than the pauses between commits of
  // a database in steady use (the upload interval is 1 s by default), short enough that idle
  // databases give their descriptors back within seconds.
  static constexpr std::chrono::milliseconds kIdleAfter{5000};

  // `pool`: the process's when null.
  explicit PooledTask(std::function<void()> run, std::function<void()> on_idle = {},
                      WorkerPool* pool = nullptr);
  ~PooledTask();  // stop()s
  PooledTask(const PooledTask&) = delete;
  PooledTask& operator=(const PooledTask&) = delete;

  // Accepts notify() from now on, and asks for a first run.
  void start();
  // There may be work: a run begins after this call.
  void notify();
  // A run at `when` (or earlier: another notify()). Later asks than a pending one change nothing.
  void notify_at(Clock::time_point when);
  // An application thread waits for this stage (a checkpoint, a close, a remote-durability
  // commit): its queued run moves to the front of the pool's queue, and so does the next one
  // asked for before a run begins. Other databases' queued work never delays such a wait by
  // more than the runs going on.
  void hurry();
  // Lets the runs asked for happen (hurried), then returns with none queued or going on.
  void stop();
  // A run is queued or going on (tests, stats).
  bool busy() const;

  // Tests: kIdleAfter for every PooledTask created afterwards (zero: kIdleAfter again).
  static void set_idle_after_for_testing(std::chrono::milliseconds idle);

 private:
  struct Core;
  // Shared with the pool's queue and the scheduler's timers, which may outlive this object
  // (a timer that fires after stop() finds the task stopped and does nothing).
  const std::shared_ptr<Core> core_;
};

}  // namespace ltxvfs::base
