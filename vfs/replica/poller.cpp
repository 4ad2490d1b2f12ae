#include "vfs/replica/poller.h"

#include <algorithm>
#include <utility>

namespace ltxvfs::replica {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

Poller::Poller(std::chrono::milliseconds interval, std::function<bool()> task)
    : interval_(interval), task_(std::move(task)), wait_(interval), last_change_(Clock::now()) {
  runs_.start();  // the first run only asks for the first poll, `interval` from now
}

Poller::~Poller() {
  runs_.stop();
}

void Poller::wake() {
  {
    base::MutexLock lock(mu_);
    woken_ = true;
  }
  runs_.notify();
}

void Poller::set_fast(bool fast) {
  {
    base::MutexLock lock(mu_);
    fast_ += fast ? 1 : -1;
  }
  if (fast) runs_.notify();
}

std::chrono::milliseconds next_poll_interval(std::chrono::milliseconds base,
                                             std::chrono::milliseconds current,
                                             std::chrono::steady_clock::duration quiet) {
  if (quiet < Poller::kIdleAfter || base >= Poller::kIdleInterval) return base;
  return std::min(std::max(current * 2, base), Poller::kIdleInterval);
}

void Poller::poll() {
  bool skip = false;
  {
    // The first run (start()) polls nothing, unless woken: the replica has just listed the store.
    base::MutexLock lock(mu_);
    skip = std::exchange(first_run_, false) && !woken_;
    woken_ = false;
  }
  if (!skip) {
    const bool changed = task_();  // must not throw
    const auto now = Clock::now();
    if (changed) last_change_ = now;
    wait_ = next_poll_interval(interval_, wait_, now - last_change_);
  }
  // While someone waits for a TXID, poll ten times as often, but every 20..100 ms.
  const auto fast =
      std::clamp(interval_ / 10, std::chrono::milliseconds(20), std::chrono::milliseconds(100));
  base::MutexLock lock(mu_);
  runs_.notify_at(Clock::now() + (fast_ > 0 ? std::min(interval_, fast) : wait_));
}

}  // namespace ltxvfs::replica
