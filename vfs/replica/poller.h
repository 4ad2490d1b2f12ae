// Poller: runs a task every `interval` on its own thread until destroyed. wake() runs it at once
// (ltx_wait, a lost snapshot); set_fast() shortens the interval while someone is waiting for a
// TXID. The task returns whether anything changed; after kIdleAfter of nothing new the interval
// doubles up to kIdleInterval (issue 18: an idle replica polled 59 times a minute), and the first
// change returns it to `interval`, so while the primary writes `interval` still bounds the lag.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "base/mutex.h"

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

  void wake();
  void set_fast(bool fast);

 private:
  void loop();

  // Constant after construction.
  const std::chrono::milliseconds interval_;
  const std::function<bool()> task_;

  base::Mutex mu_;
  std::condition_variable cv_;  // -> the poller thread: stop, wake, fast
  bool stop_ GUARDED_BY(mu_) = false;
  bool woken_ GUARDED_BY(mu_) = false;
  int fast_ GUARDED_BY(mu_) = 0;
  std::thread thread_;  // last: starts once everything above is initialised
};

}  // namespace ltxvfs::replica
