#include "base/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/named_thread.h"

namespace ltxvfs::base {
namespace {

// The state one call's threads share.
class Run {
 public:
  Run(size_t n, const std::function<void(size_t)>& fn) : n_(n), fn_(fn) {}

  // One thread's share: items until none is left or one failed.
  void work() EXCLUDES(mu_) {
    for (;;) {
      // Checked after taking the index, just before running the item: once a failure is
      // recorded, no item starts.
      const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= n_ || stopped_.load(std::memory_order_acquire)) return;
      try {
        fn_(i);
      } catch (...) {
        fail(std::current_exception());
        return;
      }
    }
  }

  void fail(std::exception_ptr error) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (!error_) error_ = std::move(error);
    stopped_.store(true, std::memory_order_release);
  }

  // After every thread stopped.
  void rethrow_if_failed() EXCLUDES(mu_) {
    std::exception_ptr error;
    {
      MutexLock lock(mu_);
      error = error_;
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  // Constant after construction.
  const size_t n_;
  const std::function<void(size_t)>& fn_;

  std::atomic<size_t> next_{0};       // the next index to hand out (may pass n_)
  std::atomic<bool> stopped_{false};  // set once error_ is, read without mu_ before each item

  Mutex mu_;
  std::exception_ptr error_ GUARDED_BY(mu_);  // the first failure
};

}  // namespace

void parallel_for(size_t n, unsigned k, const char* thread_name,
                  const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  const size_t threads = std::min<size_t>(std::max(1u, k), n);
  Run run(n, fn);
  std::vector<std::thread> started;
  started.reserve(threads - 1);
  try {
    for (size_t t = 1; t < threads; ++t) {
      started.push_back(start_named_thread(thread_name, [&run] { run.work(); }));
    }
  } catch (...) {
    run.fail(std::current_exception());  // the threads already started stop after their item
  }
  run.work();
  for (auto& t : started) t.join();
  run.rethrow_if_failed();
}

}  // namespace ltxvfs::base
