#include "vfs/replica/poller.h"

#include <algorithm>

namespace ltxvfs::replica {

Poller::Poller(std::chrono::milliseconds interval, std::function<void()> task)
    : interval_(interval), task_(std::move(task)), thread_([this] { loop(); }) {}

Poller::~Poller() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Poller::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Poller::set_fast(bool fast) {
  {
    std::lock_guard lock(mu_);
    fast_ += fast ? 1 : -1;
    woken_ = woken_ || fast;
  }
  cv_.notify_all();
}

void Poller::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    // While someone waits for a TXID, poll ten times as often, but every 20..100 ms.
    const auto fast =
        std::clamp(interval_ / 10, std::chrono::milliseconds(20), std::chrono::milliseconds(100));
    const auto interval = fast_ > 0 ? std::min(interval_, fast) : interval_;
    cv_.wait_for(lock, interval, [&] { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
    lock.unlock();
    task_();  // must not throw
    lock.lock();
  }
}

}  // namespace ltxvfs::replica
