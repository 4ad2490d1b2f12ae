// Poller: runs a task every `interval` on its own thread until destroyed. wake() runs it at once
// (ltx_wait, a lost snapshot); set_fast() shortens the interval while someone is waiting for a
// TXID.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "base/mutex.h"

namespace ltxvfs::replica {

class Poller {
 public:
  Poller(std::chrono::milliseconds interval, std::function<void()> task);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  void wake();
  void set_fast(bool fast);

 private:
  void loop();

  // Constant after construction.
  const std::chrono::milliseconds interval_;
  const std::function<void()> task_;

  base::Mutex mu_;
  std::condition_variable cv_;  // -> the poller thread: stop, wake, fast
  bool stop_ GUARDED_BY(mu_) = false;
  bool woken_ GUARDED_BY(mu_) = false;
  int fast_ GUARDED_BY(mu_) = 0;
  std::thread thread_;  // last: starts once everything above is initialised
};

}  // namespace ltxvfs::replica
