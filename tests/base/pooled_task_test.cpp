// base::OnDemandThread: a stage's thread that exists only while there is work.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "base/on_demand_thread.h"

using ltxvfs::base::OnDemandThread;
using std::chrono::milliseconds;

namespace {

// Waits (bounded: 10 s) until `done` says so.
template <class Done>
bool eventually(Done done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

// A stage's shape: work is queued under the stage's mutex, then the thread is notified; run()
// takes everything queued.
struct Stage {
  std::mutex mu;
  int queued = 0;  // guarded by mu
  std::atomic<int> done{0};
  std::atomic<int> runs{0};
  OnDemandThread thread{"ltx-test", [this] { run(); }};

  void add() {
    {
      std::lock_guard lock(mu);
      ++queued;
    }
    thread.notify();
  }
  void run() {
    ++runs;
    std::lock_guard lock(mu);
    done += queued;
    queued = 0;
  }
};

struct ShortIdle {
  explicit ShortIdle(milliseconds idle) { OnDemandThread::set_idle_exit_for_testing(idle); }
  ~ShortIdle() { OnDemandThread::set_idle_exit_for_testing(milliseconds(0)); }
};

}  // namespace

TEST_CASE("on-demand thread: no thread before work, and work after an idle exit is done",
          "[on_demand_thread]") {
  ShortIdle idle(milliseconds(20));
  Stage stage;
  CHECK_FALSE(stage.thread.running());
  stage.add();  // before start(): kept for the first run, no thread yet
  CHECK_FALSE(stage.thread.running());
  stage.thread.start();
  REQUIRE(eventually([&] { return stage.done == 1; }));
  // Idle: the thread ends by itself ...
  REQUIRE(eventually([&] { return !stage.thread.running(); }));
  // ... and the next piece of work starts a new one.
  stage.add();
  REQUIRE(eventually([&] { return stage.done == 2; }));
  REQUIRE(eventually([&] { return !stage.thread.running(); }));
  stage.thread.stop();
  CHECK_FALSE(stage.thread.running());
}

TEST_CASE("on-demand thread: many notifies from many threads, racing idle exits, lose none",
          "[on_demand_thread]") {
  // An idle time of 0+ ms (1 ms) makes the thread end and restart all the time, so notifies
  // race its exits.
  ShortIdle idle(milliseconds(1));
  Stage stage;
  stage.thread.start();
  constexpr int kThreads = 4, kEach = 2000;
  std::vector<std::thread> adders;
  for (int t = 0; t < kThreads; ++t) {
    adders.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        stage.add();
        if (i % 64 == 0) std::this_thread::sleep_for(milliseconds(2));
      }
    });
  }
  for (auto& t : adders) t.join();
  REQUIRE(eventually([&] { return stage.done == kThreads * kEach; }));
  stage.thread.stop();
  CHECK(stage.done == kThreads * kEach);
}

TEST_CASE("on-demand thread: stop runs what was asked for, also during a restart",
          "[on_demand_thread]") {
  ShortIdle idle(milliseconds(1));
  for (int round = 0; round < 200; ++round) {
    Stage stage;
    stage.thread.start();
    if (round % 2 == 0) std::this_thread::sleep_for(milliseconds(round % 5));
    stage.add();  // may start a thread while the last one is ending
    stage.thread.stop();
    REQUIRE(stage.done == 1);
    CHECK_FALSE(stage.thread.running());
    // After stop: nothing runs, no thread starts.
    const int runs = stage.runs;
    stage.add();
    CHECK_FALSE(stage.thread.running());
    CHECK(stage.runs == runs);
  }
}

TEST_CASE("on-demand thread: a notify during a run asks for another run", "[on_demand_thread]") {
  std::atomic<int> runs{0};
  std::atomic<bool> release{false};
  OnDemandThread* self = nullptr;
  OnDemandThread thread("ltx-test", [&] {
    if (++runs == 1) {
      self->notify();  // from the run itself: one more run
      while (!release) std::this_thread::sleep_for(milliseconds(1));
    }
  });
  self = &thread;
  thread.start();
  REQUIRE(eventually([&] { return runs >= 1; }));
  thread.notify();  // from outside, during the run
  release = true;
  REQUIRE(eventually([&] { return runs >= 2; }));
  thread.stop();
  CHECK(runs == 2);  // both notifies came during the first run: one run after it
}
