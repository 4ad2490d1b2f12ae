// Poller: runs a task every `interval` until destroyed, as a run on the process's worker pool
// (base::PooledTask; the wait between polls is a base::Scheduler timer, so a replica holds no
// thread of its own: issue 18). wake() runs it at once
// (ltx_wait, a lost snapshot); set_fast() shortens the interval while someone is waiting for a
// TXID. The task returns whether anything changed; after kIdleAfter of nothing new the interval
// doubles up to kIdleInterval (issue 18: an idle replica polled 59 times a minute), and the first
// change returns it to `interval`, so while the primary writes `interval` still bounds the lag.
#pragma once

#include <chrono>
#include <functional>

#include "base/mutex.h"
#include "base/pooled_task.h"

namespace ltxvfs::replica {

// The wait before the next poll: `base` while something changed within kIdleAfter (`quiet` is the
// time since the last change), then twice the `current` wait per poll, up to kIdleInterval (or
// `base` when that is longer already).
std::chrono::milliseconds next_poll_interval(std::chrono::milliseconds base,
                                             std::chrono::milliseconds current,
                                             std::chrono::steady_clock::duration quiet);

class Poller {
 public:
  static constexpr std::chrono::milliseconds kIdleAfter{60'000};
  static constexpr std::chrono::milliseconds kIdleInterval{10'000};

  Poller(std::chrono::milliseconds interval, std::function<bool()> task);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  void wake() EXCLUDES(mu_);
  void set_fast(bool fast) EXCLUDES(mu_);

 private:
  // One poll, then asks for the next one after the current wait.
  void poll() EXCLUDES(mu_);

  // Constant after construction.
  const std::chrono::milliseconds interval_;
  const std::function<bool()> task_;

  base::Mutex mu_;
  int fast_ GUARDED_BY(mu_) = 0;
  bool first_run_ GUARDED_BY(mu_) = true;
  bool woken_ GUARDED_BY(mu_) = false;
  // The polls' own (one at a time): the current wait between polls, the last change.
  std::chrono::milliseconds wait_;
  std::chrono::steady_clock::time_point last_change_;
  base::PooledTask runs_{[this] { poll(); }};  // last: uses the above
};

}  // namespace ltxvfs::replica
