// base::PooledTask: a stage's runs on a worker pool, asked for by notify() and notify_at().
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "base/pooled_task.h"
#include "base/worker_pool.h"
#include "tests/base/eventually.h"

using ltxvfs::base::PooledTask;
using ltxvfs::base::WorkerPool;
using ltxvfs::testing::eventually;
using std::chrono::milliseconds;

namespace {

// A stage's shape: work is queued under the stage's mutex, then the thread is notified; run()
// takes everything queued.
struct Stage {
  std::mutex mu;
  int queued = 0;  // guarded by mu
  std::atomic<int> done{0};
  std::atomic<int> runs{0};
  std::atomic<int> idles{0};
  PooledTask task{[this] { run(); }, [this] { ++idles; }};

  void add() {
    {
      std::lock_guard lock(mu);
      ++queued;
    }
    task.notify();
  }
  void run() {
    ++runs;
    std::lock_guard lock(mu);
    done += queued;
    queued = 0;
  }
};

struct ShortIdle {
  explicit ShortIdle(milliseconds idle) { PooledTask::set_idle_after_for_testing(idle); }
  ~ShortIdle() { PooledTask::set_idle_after_for_testing(milliseconds(0)); }
};

}  // namespace

TEST_CASE("pooled task: no run before start(), on_idle once per idle spell", "[pooled_task]") {
  ShortIdle idle(milliseconds(20));
  Stage stage;
  CHECK_FALSE(stage.task.busy());
  stage.add();  // before start(): kept for the first run
  CHECK_FALSE(stage.task.busy());
  CHECK(stage.runs == 0);
  stage.task.start();
  REQUIRE(eventually([&] { return stage.done == 1; }));
  // Idle for a while: on_idle, once ...
  REQUIRE(eventually([&] { return stage.idles == 1; }));
  std::this_thread::sleep_for(milliseconds(100));
  CHECK(stage.idles == 1);
  // ... and again after the next spell of work.
  stage.add();
  REQUIRE(eventually([&] { return stage.done == 2; }));
  REQUIRE(eventually([&] { return stage.idles == 2; }));
  stage.task.stop();
  CHECK_FALSE(stage.task.busy());
}

TEST_CASE("pooled task: many notifies from many threads, racing idle exits, lose none",
          "[pooled_task]") {
  // An idle time of 0+ ms (1 ms) makes the thread end and restart all the time, so notifies
  // race its exits.
  ShortIdle idle(milliseconds(1));
  Stage stage;
  stage.task.start();
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
  stage.task.stop();
  CHECK(stage.done == kThreads * kEach);
}

TEST_CASE("pooled task: stop runs what was asked for, also during a restart", "[pooled_task]") {
  ShortIdle idle(milliseconds(1));
  for (int round = 0; round < 200; ++round) {
    Stage stage;
    stage.task.start();
    if (round % 2 == 0) std::this_thread::sleep_for(milliseconds(round % 5));
    stage.add();  // may start a thread while the last one is ending
    stage.task.stop();
    REQUIRE(stage.done == 1);
    CHECK_FALSE(stage.task.busy());
    // After stop: nothing runs, no thread starts.
    const int runs = stage.runs;
    stage.add();
    CHECK_FALSE(stage.task.busy());
    CHECK(stage.runs == runs);
  }
}

TEST_CASE("pooled task: a notify during a run asks for another run", "[pooled_task]") {
  std::atomic<int> runs{0};
  std::atomic<bool> release{false};
  PooledTask* self = nullptr;
  PooledTask thread([&] {
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

TEST_CASE("pooled task: notify_at() runs later, and stop() does not wait for it", "[pooled_task]") {
  Stage stage;
  stage.task.start();
  REQUIRE(eventually([&] { return stage.runs == 1; }));
  stage.task.notify_at(PooledTask::Clock::now() + milliseconds(50));
  stage.task.notify_at(PooledTask::Clock::now() + std::chrono::hours(1));  // later: no change
  REQUIRE(eventually([&] { return stage.runs == 2; }));
  stage.task.notify_at(PooledTask::Clock::now() + std::chrono::hours(1));
  std::this_thread::sleep_for(milliseconds(100));
  CHECK(stage.runs == 2);
  stage.task.stop();  // returns although a run is asked for in an hour
  CHECK(stage.runs == 2);
}

TEST_CASE("pooled task: a run that asks for more during stop() gets it", "[pooled_task]") {
  std::atomic<int> left{5};
  std::atomic<bool> release{false};
  PooledTask* self = nullptr;
  PooledTask task([&] {
    while (!release) std::this_thread::sleep_for(milliseconds(1));
    if (--left > 0) self->notify();  // one piece of work per run
  });
  self = &task;
  task.start();
  std::thread stopper([&] { task.stop(); });
  std::this_thread::sleep_for(milliseconds(20));
  release = true;
  stopper.join();
  CHECK(left == 0);
  CHECK_FALSE(task.busy());
}

TEST_CASE("pooled task: a busy stage does not starve another on a one-worker pool",
          "[pooled_task]") {
  std::atomic<int> busy_runs{0};
  std::atomic<int> busy_runs_when_other_ran{-1};
  // Declared after what its runs use, so that it is destroyed (its workers joined) first.
  WorkerPool pool("ltx-test", 1, milliseconds(1000));
  PooledTask* busy_self = nullptr;
  PooledTask busy(
      [&] {
        std::this_thread::sleep_for(milliseconds(1));
        if (++busy_runs < 200) busy_self->notify();  // always more work
      },
      {}, &pool);
  busy_self = &busy;
  PooledTask other([&] { busy_runs_when_other_ran = busy_runs.load(); }, {}, &pool);
  busy.start();
  REQUIRE(eventually([&] { return busy_runs >= 1; }));
  const int before = busy_runs;
  other.start();
  REQUIRE(eventually([&] { return busy_runs_when_other_ran >= 0; }));
  // First in, first out: the other stage's run came after the busy one's run going on (and one
  // more, had it just been taken when `before` was read), not after its 200.
  CHECK(busy_runs_when_other_ran <= before + 2);
  busy.stop();
  other.stop();
}

TEST_CASE("pooled task: a hurried run does not wait for the queue or the busy workers",
          "[pooled_task]") {
  std::atomic<bool> release{false};
  std::mutex mu;
  std::vector<char> order;
  const auto note = [&](char c) {
    std::lock_guard lock(mu);
    order.push_back(c);
  };
  // Declared after what its runs use, so that it is destroyed (its workers joined) first.
  WorkerPool pool("ltx-test", 1, milliseconds(1000));
  PooledTask blocker(
      [&] {
        while (!release) std::this_thread::sleep_for(milliseconds(1));
      },
      {}, &pool);
  PooledTask a([&] { note('a'); }, {}, &pool);
  PooledTask b([&] { note('b'); }, {}, &pool);
  PooledTask c([&] { note('c'); }, {}, &pool);
  blocker.start();  // holds the one worker
  REQUIRE(eventually([&] { return blocker.busy(); }));
  a.start();  // queued behind the blocker
  b.start();
  b.hurry();  // queued: to the front, and a worker beyond the bound takes it
  c.hurry();  // not asked for yet: its next run goes the same way
  c.start();
  REQUIRE(eventually([&] {
    std::lock_guard lock(mu);
    return order.size() == 2;
  }));
  {
    std::lock_guard lock(mu);
    CHECK(std::count(order.begin(), order.end(), 'a') == 0);  // still behind the blocker
  }
  release = true;
  REQUIRE(eventually([&] {
    std::lock_guard lock(mu);
    return order.size() == 3;
  }));
  std::lock_guard lock(mu);
  CHECK(order.back() == 'a');
}
