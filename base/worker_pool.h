// WorkerPool: the process's worker threads, shared by the background stages of every database
// (issue 18). A stage asks for a run (base::PooledTask); a worker runs it, then takes the next
// stage's run from the queue, oldest first. Threads are started when a run finds no idle worker,
// up to max_threads, and end after idle_exit without work, so a process with a thousand databases
// holds at most max_threads workers however many are busy (plus one per run an application
// thread waits for, see submit()), and none while all are idle.
//
// Fairness: the queue is first in, first out, and a stage's run does a bounded amount of work
// (one batch, one upload pass, one history run) before it asks for its next run at the back, so a
// busy database gets at most its share of the workers and cannot starve another's uploads.
// (Lease renewals do not run here at all: they are short jobs on base::Scheduler.)
//
// A run may block on I/O (a PUT, an fsync) and for a few milliseconds on its own condition
// variables (a batching window), but never on another run: every worker could be waiting, and
// the run it waits for would stay queued. Stages wait for time by asking base::PooledTask for a
// run later instead, and a run that needs another stage's work done does it itself
// (SyncStage::wait).
//
// Concurrency contract: every method may be called from any thread; a run is called with no
// lock of the pool held. The destructor (tests only: process() is never destroyed) lets every
// queued run happen, then joins the workers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <thread>

#include "base/mutex.h"

namespace ltxvfs::base {

class WorkerPool {
 public:
  // What the pool runs: one run per submit().
  class Item {
   public:
    virtual ~Item() = default;
    virtual void run_from_pool() = 0;
  };

  // The process's pool: 2 workers per core (a run spends much of its time waiting for the store
  // or the disk) plus 4, at least 8 -- within issue 18's 2 x cores + 8 with the scheduler's
  // thread. LTX_WORKER_THREADS (1-256) overrides it; read once, at first use.
  static WorkerPool& process();
  static size_t default_max_threads();

  // `name`: the workers' thread name (15 characters at most, base/named_thread.h).
  WorkerPool(const char* name, size_t max_threads, std::chrono::milliseconds idle_exit);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues one run of `item`, at the back, or at the front: a run an application thread waits
  // for (a close, a checkpoint), which starts a worker for it when none is idle, beyond
  // max_threads if need be. Such a worker ends after its run while the pool is above its bound,
  // so the pool holds at most max_threads plus the runs at the front going on.
  void submit(std::shared_ptr<Item> item, bool front = false) EXCLUDES(mu_);
  // Moves `item`, when queued, to the front, as submit(front); whether it was queued.
  bool hurry(const Item* item) EXCLUDES(mu_);
  // Workers alive now (tests, stats).
  size_t threads() const EXCLUDES(mu_);
  size_t max_threads() const { return max_threads_; }

 private:
  using Workers = std::list<std::thread>;
  void work(Workers::iterator self) EXCLUDES(mu_);
  void start_worker() REQUIRES(mu_);

  // Constant after construction.
  const char* const name_;
  const size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;

  mutable Mutex mu_;
  std::condition_variable work_cv_;  // -> idle workers: a run was queued, or stop
  std::deque<std::shared_ptr<Item>> queue_ GUARDED_BY(mu_);
  // Alive; one that ends on its own detaches itself and leaves the list (work()).
  Workers workers_ GUARDED_BY(mu_);
  size_t idle_ GUARDED_BY(mu_) = 0;  // workers waiting for a run
  bool stop_ GUARDED_BY(mu_) = false;
};

}  // namespace ltxvfs::base
