#include "base/scheduler.h"

#include <cassert>

#include "base/named_thread.h"

namespace ltxvfs::base {

Scheduler::Scheduler() : thread_(start_named_thread("ltx-scheduler", [this] { loop(); })) {}

Scheduler::~Scheduler() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Scheduler& Scheduler::process() {
  static Scheduler* const scheduler = new Scheduler();
  return *scheduler;
}

uint64_t Scheduler::add(Clock::time_point first, Job job) {
  uint64_t id;
  {
    MutexLock lock(mu_);
    id = next_id_++;
    jobs_.emplace(id, std::move(job));
    due_.emplace(first, id);
  }
  changed_.notify_all();
  return id;
}

void Scheduler::cancel(uint64_t id) {
  cancel_until(id, Clock::time_point::max());
}

bool Scheduler::cancel_until(uint64_t id, Clock::time_point deadline) {
  MutexLock lock(mu_);
  jobs_.erase(id);
  for (auto it = due_.begin(); it != due_.end(); ++it) {
    if (it->second == id) {
      due_.erase(it);
      break;
    }
  }
  // A job cancelled while it runs finishes its run (it is not rescheduled: it left jobs_); the
  // caller must not see it running after cancel() returns, unless the caller is that job.
  if (std::this_thread::get_id() == thread_.get_id()) return true;
  return lock.wait_until(changed_, deadline, [&]() REQUIRES(mu_) { return running_ != id; });
}

void Scheduler::loop() {
  MutexLock lock(mu_);
  while (!stop_) {
    if (due_.empty()) {
      lock.wait(changed_, [&]() REQUIRES(mu_) { return stop_ || !due_.empty(); });
      continue;
    }
    const auto next = due_.begin();
    if (next->first > Clock::now()) {
      const auto when = next->first;
      lock.wait_until(changed_, when, [&]() REQUIRES(mu_) {
        return stop_ || due_.empty() || due_.begin()->first < when;
      });
      continue;
    }
    const uint64_t id = next->second;
    due_.erase(next);
    auto found = jobs_.find(id);
    if (found == jobs_.end()) continue;
    Job job = found->second;  // a copy: cancel() may erase the original while it runs
    running_ = id;
    lock.unlock();
    Clock::time_point again = Clock::time_point::max();
    try {
      again = job();
    } catch (...) {
      // A job reports its own errors; one that throws is not run again.
      again = Clock::time_point::max();
    }
    lock.lock();
    assert(running_ == id);
    running_ = 0;
    if (again == Clock::time_point::max()) {
      jobs_.erase(id);  // ended: one-shot timers (PooledTask::notify_at) leave nothing behind
    } else if (jobs_.count(id) != 0) {
      due_.emplace(again, id);
    }
    changed_.notify_all();
  }
}

}  // namespace ltxvfs::base
