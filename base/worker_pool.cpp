#include "base/worker_pool.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "base/named_thread.h"

namespace ltxvfs::base {

size_t WorkerPool::default_max_threads() {
  if (const char* env = std::getenv("LTX_WORKER_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != nullptr && *end == '\0' && n >= 1 && n <= 256) return static_cast<size_t>(n);
  }
  const size_t cores = std::max(1U, std::thread::hardware_concurrency());
  return std::max<size_t>(8, 2 * cores + 4);
}

WorkerPool& WorkerPool::process() {
  // Never destroyed, like Scheduler::process(): a static destructor would join threads at exit.
  static WorkerPool* const pool =
      new WorkerPool("ltx-worker", default_max_threads(), std::chrono::milliseconds(5000));
  return *pool;
}

WorkerPool::WorkerPool(const char* name, size_t max_threads, std::chrono::milliseconds idle_exit)
    : name_(name), max_threads_(std::max<size_t>(1, max_threads)), idle_exit_(idle_exit) {}

WorkerPool::~WorkerPool() {
  Workers workers;
  {
    MutexLock lock(mu_);
    stop_ = true;
    workers.swap(workers_);
  }
  work_cv_.notify_all();
  // Workers finish the queue first; none starts after stop_ (submit() does not start one).
  for (auto& t : workers) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::start_worker() {
  const auto self = workers_.emplace(workers_.end());
  *self = start_named_thread(name_, [this, self] { work(self); });
}

void WorkerPool::submit(std::shared_ptr<Item> item, bool front) {
  MutexLock lock(mu_);
  if (front) {
    queue_.push_front(std::move(item));
  } else {
    queue_.push_back(std::move(item));
  }
  // More runs queued than idle workers to take them: another worker, within the bound, or
  // beyond it for a run at the front (an application thread waits for it: it must not wait for
  // other databases' runs to end). (After stop_, the workers that are left finish the queue.)
  if (queue_.size() > idle_ && (workers_.size() < max_threads_ || front) && !stop_) start_worker();
  if (idle_ > 0) work_cv_.notify_one();
}

bool WorkerPool::hurry(const Item* item) {
  MutexLock lock(mu_);
  const auto it =
      std::find_if(queue_.begin(), queue_.end(), [&](const auto& q) { return q.get() == item; });
  if (it == queue_.end()) return false;
  std::shared_ptr<Item> moved = std::move(*it);
  queue_.erase(it);
  queue_.push_front(std::move(moved));
  if (queue_.size() > idle_ && !stop_) start_worker();  // as submit(front): beyond the bound
  return true;
}

size_t WorkerPool::threads() const {
  MutexLock lock(mu_);
  return workers_.size();
}

void WorkerPool::work(Workers::iterator self) {
  MutexLock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stop_) break;
      ++idle_;
      const bool woken = lock.wait_for(work_cv_, idle_exit_,
                                       [&]() REQUIRES(mu_) { return stop_ || !queue_.empty(); });
      --idle_;
      if (!woken) break;  // idle for idle_exit_: end (a submit() meanwhile starts another)
      continue;
    }
    std::shared_ptr<Item> item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    item->run_from_pool();
    item.reset();  // the last reference may be this one: released without mu_
    lock.lock();
    // Above the bound (a worker started for a run at the front): the first to finish ends.
    if (workers_.size() > max_threads_) break;
  }
  if (stop_) return;  // the destructor joins every worker
  // Ending on its own: nobody would join it (the process's pool lives until exit, and a worker
  // that ended unjoined is a leaked thread to ThreadSanitizer), so it detaches itself. Unlocking
  // mu_ is its last touch of the pool; a destructor that takes mu_ after that may free it.
  self->detach();
  workers_.erase(self);
}

}  // namespace ltxvfs::base
