#include "vfs/replica/poller.h"

#include <algorithm>

#include "base/named_thread.h"

namespace ltxvfs::replica {

Poller::Poller(std::chrono::milliseconds interval, std::function<bool()> task)
    : interval_(interval),
      task_(std::move(task)),
      thread_(base::start_named_thread("ltx-poll", [this] { loop(); })) {}

Poller::~Poller() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Poller::wake() {
  {
    base::MutexLock lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Poller::set_fast(bool fast) {
  {
    base::MutexLock lock(mu_);
    fast_ += fast ? 1 : -1;
    woken_ = woken_ || fast;
  }
  cv_.notify_all();
}

std::chrono::milliseconds next_poll_interval(std::chrono::milliseconds base,
                                             std::chrono::milliseconds current,
                                             std::chrono::steady_clock::duration quiet) {
  if (quiet < Poller::kIdleAfter || base >= Poller::kIdleInterval) return base;
  return std::min(std::max(current * 2, base), Poller::kIdleInterval);
}

void Poller::loop() {
  using Clock = std::chrono::steady_clock;
  auto last_change = Clock::now();
  auto interval = interval_;
  base::MutexLock lock(mu_);
  for (;;) {
    // While someone waits for a TXID, poll ten times as often, but every 20..100 ms.
    const auto fast =
        std::clamp(interval_ / 10, std::chrono::milliseconds(20), std::chrono::milliseconds(100));
    const auto wait = fast_ > 0 ? std::min(interval_, fast) : interval;
    lock.wait_for(cv_, wait, [&]() REQUIRES(mu_) { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
    lock.unlock();
    const bool changed = task_();  // must not throw
    const auto now = Clock::now();
    if (changed) last_change = now;
    interval = next_poll_interval(interval_, interval, now - last_change);
    lock.lock();
  }
}

}  // namespace ltxvfs::replica
