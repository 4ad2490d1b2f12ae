#include "base/on_demand_thread.h"

#include <atomic>
#include <utility>

#include "base/named_thread.h"

namespace ltxvfs::base {
namespace {

std::atomic<int64_t> idle_exit_for_testing_ms{0};

std::chrono::milliseconds idle_exit() {
  const int64_t ms = idle_exit_for_testing_ms.load();
  return ms > 0 ? std::chrono::milliseconds(ms) : OnDemandThread::kIdleExit;
}

}  // namespace

OnDemandThread::OnDemandThread(const char* name, std::function<void()> run,
                               std::function<void()> on_idle)
    : name_(name), run_(std::move(run)), on_idle_(std::move(on_idle)), idle_exit_(idle_exit()) {}

OnDemandThread::~OnDemandThread() {
  stop();
}

void OnDemandThread::set_idle_exit_for_testing(std::chrono::milliseconds idle) {
  idle_exit_for_testing_ms = idle.count();
}

void OnDemandThread::start() {
  {
    MutexLock lock(mu_);
    started_ = true;
  }
  notify();
}

void OnDemandThread::notify() {
  MutexLock lock(mu_);
  if (!started_ || stop_) return;
  requested_ = true;
  if (alive_) {
    cv_.notify_one();
    return;
  }
  // The previous thread (if any) has left loop() for good: it touches nothing of this object any
  // more, so joining it here is quick and needs no lock it could wait for.
  if (thread_.joinable()) thread_.join();
  alive_ = true;
  thread_ = start_named_thread(name_, [this] { loop(); });
}

void OnDemandThread::stop() {
  std::thread ending;
  {
    MutexLock lock(mu_);
    stop_ = true;
    ending = std::move(thread_);
  }
  cv_.notify_all();
  // No thread can start once stop_ is set, so this is the last one.
  if (ending.joinable()) ending.join();
}

bool OnDemandThread::running() const {
  MutexLock lock(mu_);
  return alive_;
}

void OnDemandThread::loop() {
  MutexLock lock(mu_);
  for (;;) {
    if (requested_) {
      requested_ = false;
      lock.unlock();
      run_();
      lock.lock();
      continue;
    }
    if (stop_) break;
    // Ready for more work for a while; then, with nothing asked meanwhile, end. A notify() that
    // comes after this decision (under mu_) sees alive_ false and starts a new thread.
    if (lock.wait_for(cv_, idle_exit_, [&]() REQUIRES(mu_) { return requested_ || stop_; })) {
      continue;
    }
    if (on_idle_) {
      lock.unlock();
      on_idle_();
      lock.lock();
      if (requested_ || stop_) continue;
    }
    break;
  }
  alive_ = false;
}

}  // namespace ltxvfs::base
