// Scheduler: one thread that runs short, periodic jobs for every engine in the process (today:
// each writer's lease renewal and its close deadline), so that such a job never waits behind an
// engine's long work (an upload, a compaction) and adds no thread per database.
//
// Concurrency contract: every method may be called from any thread. A job runs on the
// scheduler's thread, one at a time, and must be short (a bounded store call at most): a job
// that blocks delays every other. A job must not call cancel() on itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>

#include "base/mutex.h"

namespace ltxvfs::base {

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  // Returns when to run next; Clock::time_point::max() ends the job.
  using Job = std::function<Clock::time_point()>;

  Scheduler();
  ~Scheduler();  // runs no job after it returns; waits for a running one
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `job` at `first`, then whenever its result says (Clock::time_point::max(): never again).
  // Returns an id for cancel().
  uint64_t add(Clock::time_point first, Job job) EXCLUDES(mu_);
  // After it returns, the job does not run again and is not running (unless called from it).
  void cancel(uint64_t id) EXCLUDES(mu_);
  // The same, but waits for a running job only until `deadline`: false when it is still running
  // then (it will not run again; cancel() waits for it to end).
  bool cancel_until(uint64_t id, Clock::time_point deadline) EXCLUDES(mu_);

  // The process's scheduler, started at first use and never destroyed (the extension lives as
  // long as the process; a static destructor would have to join a thread at exit).
  static Scheduler& process();

 private:
  void loop();

  Mutex mu_;
  std::condition_variable changed_;  // a job was added or cancelled, a run ended, or stop
  // Jobs by id, and when each runs next.
  std::map<uint64_t, Job> jobs_ GUARDED_BY(mu_);
  std::multimap<Clock::time_point, uint64_t> due_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  uint64_t running_ GUARDED_BY(mu_) = 0;  // the id of the job running now, 0 when none
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once everything above is initialised
};

}  // namespace ltxvfs::base
