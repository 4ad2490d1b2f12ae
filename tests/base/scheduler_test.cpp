// base::Scheduler: the process's thread for short periodic jobs (lease renewals, close
// deadlines).
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "base/scheduler.h"
#include "tests/base/eventually.h"

using ltxvfs::base::Scheduler;
using ltxvfs::testing::eventually;
using std::chrono::milliseconds;

TEST_CASE("scheduler: jobs run in the order they are due", "[scheduler]") {
  Scheduler scheduler;
  std::mutex mu;
  std::vector<int> order;
  const auto now = Scheduler::Clock::now();
  for (int i : {3, 1, 2}) {
    scheduler.add(now + milliseconds(20 * i), [&, i] {
      std::lock_guard lock(mu);
      order.push_back(i);
      return Scheduler::Clock::time_point::max();
    });
  }
  REQUIRE(eventually([&] {
    std::lock_guard lock(mu);
    return order.size() == 3;
  }));
  std::lock_guard lock(mu);
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("scheduler: a job runs again when it says so, and never after cancel", "[scheduler]") {
  Scheduler scheduler;
  std::atomic<int> runs{0};
  const uint64_t id = scheduler.add(Scheduler::Clock::now(), [&] {
    ++runs;
    return Scheduler::Clock::now() + milliseconds(5);
  });
  REQUIRE(eventually([&] { return runs >= 3; }));
  scheduler.cancel(id);
  const int after_cancel = runs;
  std::this_thread::sleep_for(milliseconds(50));
  CHECK(runs == after_cancel);
}

TEST_CASE("scheduler: cancel waits for a running job, and a throwing job is not run again",
          "[scheduler]") {
  Scheduler scheduler;
  std::atomic<bool> started{false}, finished{false};
  const uint64_t slow = scheduler.add(Scheduler::Clock::now(), [&] {
    started = true;
    std::this_thread::sleep_for(milliseconds(100));
    finished = true;
    return Scheduler::Clock::now();
  });
  REQUIRE(eventually([&] { return started.load(); }));
  scheduler.cancel(slow);
  CHECK(finished);  // cancel() returned only once the run had ended

  std::atomic<int> throws{0};
  scheduler.add(Scheduler::Clock::now(), [&]() -> Scheduler::Clock::time_point {
    ++throws;
    throw std::runtime_error("job failed");
  });
  std::atomic<int> other{0};
  scheduler.add(Scheduler::Clock::now() + milliseconds(30), [&] {
    ++other;
    return Scheduler::Clock::time_point::max();
  });
  REQUIRE(eventually([&] { return other == 1; }));
  CHECK(throws == 1);  // and the scheduler went on with the other job
}

TEST_CASE("scheduler: a job may cancel itself", "[scheduler]") {
  Scheduler scheduler;
  std::atomic<int> runs{0};
  std::atomic<uint64_t> id{0};
  std::atomic<bool> added{false};
  id = scheduler.add(Scheduler::Clock::now() + milliseconds(10), [&] {
    while (!added) std::this_thread::yield();
    ++runs;
    scheduler.cancel(id);
    return Scheduler::Clock::now();
  });
  added = true;
  REQUIRE(eventually([&] { return runs >= 1; }));
  std::this_thread::sleep_for(milliseconds(50));
  CHECK(runs == 1);
}
