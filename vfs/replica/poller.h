// Poller: runs a task every `interval` on its own thread until destroyed. wake() runs it at once
// (ltx_wait, a lost snapshot); set_fast() shortens the interval while someone is waiting for a
// TXID.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

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

  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  int fast_ = 0;
  std::thread thread_;  // last: starts once everything above is initialised
};

}  // namespace ltxvfs::replica
