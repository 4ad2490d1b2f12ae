// OnDemandThread: runs a stage's work on a thread that exists only while there is work. notify()
// starts the thread when none runs; the thread calls `run` until no notify() came in since the
// last call began, then stays ready for kIdleExit and ends when nothing came meanwhile. A process
// with hundreds of idle databases so holds no thread for them (issue 18), while a database in
// steady use keeps its threads (no thread start per commit).
//
// The stage's `run` does every piece of work it sees (it may wait on its own condition variables
// for a bounded time: a batching window, a retry's backoff) and returns when it sees none. Work
// that falls due later is handed to a timer (base::Scheduler) that calls notify() when it is due.
// `on_idle`, when given, is called on the thread when it is about to end (kIdleExit without work),
// for the stage to give back what it holds only while busy (a descriptor); a notify() meanwhile
// keeps the thread.
//
// Concurrency contract: every method may be called from any thread, `run` never from two
// threads at once. A notify() after start() and before stop() began is always followed by a call
// of `run` that begins after it (a notify racing an idle exit starts a new thread): the stage sets
// its state, then notifies, and loses nothing. stop() lets the calls asked for before it run,
// then joins the thread; notify() during or after stop() starts no thread. notify() may be called
// with the caller's own mutex held (lock order: the caller's mutex, then this one); `run` is
// called with no lock of this class held. Called from `run` itself, notify() asks for another run
// and stop() must not be.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <thread>

#include "base/mutex.h"

namespace ltxvfs::base {

class OnDemandThread {
 public:
  // How long an idle thread waits for more work before it ends. Longer than the pauses between
  // commits of a database in steady use (the upload interval is 1 s by default), so such a
  // database starts no thread per commit; short enough that idle databases give their threads
  // back within seconds.
  static constexpr std::chrono::milliseconds kIdleExit{5000};

  // `name`: the thread's name (15 characters at most, base/named_thread.h).
  OnDemandThread(const char* name, std::function<void()> run, std::function<void()> on_idle = {});
  ~OnDemandThread();  // stop()s
  OnDemandThread(const OnDemandThread&) = delete;
  OnDemandThread& operator=(const OnDemandThread&) = delete;

  // Accepts notify() from now on, and asks for a first run.
  void start() EXCLUDES(mu_);
  // There may be work: a run begins after this call (starting the thread if none runs).
  void notify() EXCLUDES(mu_);
  // Runs what was asked for, then ends the thread and waits for it.
  void stop() EXCLUDES(mu_);
  // Whether a thread exists now (tests, stats).
  bool running() const EXCLUDES(mu_);

  // Tests: the idle time before a thread ends, for every OnDemandThread created afterwards
  // (zero: kIdleExit again).
  static void set_idle_exit_for_testing(std::chrono::milliseconds idle);

 private:
  void loop() EXCLUDES(mu_);

  const char* const name_;
  const std::function<void()> run_;
  const std::function<void()> on_idle_;
  const std::chrono::milliseconds idle_exit_;

  mutable Mutex mu_;
  std::condition_variable cv_;  // -> the thread: a request, stop
  bool started_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  bool requested_ GUARDED_BY(mu_) = false;  // a run was asked for since the last one began
  bool alive_ GUARDED_BY(mu_) = false;      // the thread is in loop() (false: ended or none)
  std::thread thread_ GUARDED_BY(mu_);      // joinable until joined, even after it ended
};

}  // namespace ltxvfs::base
