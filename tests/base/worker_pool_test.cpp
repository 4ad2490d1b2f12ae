// base::WorkerPool: the process's workers, bounded, first in first out, gone when idle.
#include "base/worker_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/base/eventually.h"

using ltxvfs::base::WorkerPool;
using ltxvfs::testing::eventually;
using std::chrono::milliseconds;

namespace {

struct Call : WorkerPool::Item {
  explicit Call(std::function<void()> f) : fn(std::move(f)) {}
  void run_from_pool() override { fn(); }
  std::function<void()> fn;
};

}  // namespace

TEST_CASE("worker pool: never more workers than its bound, every run done", "[worker_pool]") {
  std::atomic<bool> release{false};
  std::atomic<int> concurrent{0}, most{0}, done{0};
  // Declared after what its runs use, so that it is destroyed (its workers joined) first.
  WorkerPool pool("ltx-test", 3, milliseconds(50));
  for (int i = 0; i < 40; ++i) {
    pool.submit(std::make_shared<Call>([&] {
      const int now = ++concurrent;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      while (!release) std::this_thread::sleep_for(milliseconds(1));
      --concurrent;
      ++done;
    }));
  }
  REQUIRE(eventually([&] { return concurrent == 3; }));
  CHECK(pool.threads() == 3);
  release = true;
  REQUIRE(eventually([&] { return done == 40; }));
  CHECK(most == 3);
  // Idle workers end by themselves.
  REQUIRE(eventually([&] { return pool.threads() == 0; }));
  // And the next run starts one again.
  std::atomic<bool> again{false};
  pool.submit(std::make_shared<Call>([&] { again = true; }));
  REQUIRE(eventually([&] { return again.load(); }));
}

TEST_CASE("worker pool: first in, first out, and hurry() moves a run to the front",
          "[worker_pool]") {
  std::atomic<bool> release{false};
  std::mutex mu;
  std::vector<char> order;
  // Declared after what its runs use, so that it is destroyed (its workers joined) first.
  WorkerPool pool("ltx-test", 1, milliseconds(1000));
  pool.submit(std::make_shared<Call>([&] {
    while (!release) std::this_thread::sleep_for(milliseconds(1));
  }));
  std::vector<std::shared_ptr<Call>> calls;
  for (char c : {'a', 'b', 'c', 'd'}) {
    calls.push_back(std::make_shared<Call>([&, c] {
      std::lock_guard lock(mu);
      order.push_back(c);
    }));
    pool.submit(calls.back());
  }
  CHECK(pool.hurry(calls[2].get()));
  release = true;
  REQUIRE(eventually([&] {
    std::lock_guard lock(mu);
    return order.size() == 4;
  }));
  std::lock_guard lock(mu);
  CHECK(order == std::vector<char>{'c', 'a', 'b', 'd'});
  CHECK_FALSE(pool.hurry(calls[0].get()));  // ran: not queued any more
}

TEST_CASE("worker pool: the destructor lets every queued run happen", "[worker_pool]") {
  std::atomic<int> done{0};
  {
    WorkerPool pool("ltx-test", 2, milliseconds(1000));
    for (int i = 0; i < 100; ++i) {
      pool.submit(std::make_shared<Call>([&] {
        std::this_thread::sleep_for(milliseconds(1));
        ++done;
      }));
    }
  }
  CHECK(done == 100);
}

TEST_CASE("worker pool: a run at the front does not wait for the runs going on", "[worker_pool]") {
  std::atomic<bool> release{false}, urgent_ran{false};
  // Declared after what its runs use, so that it is destroyed (its workers joined) first.
  WorkerPool pool("ltx-test", 1, milliseconds(1000));
  pool.submit(std::make_shared<Call>([&] {
    while (!release) std::this_thread::sleep_for(milliseconds(1));
  }));
  pool.submit(std::make_shared<Call>([] {}));  // queued behind the busy worker
  // An application thread waits for this one: a worker beyond the bound takes it at once.
  pool.submit(std::make_shared<Call>([&] { urgent_ran = true; }), true);
  REQUIRE(eventually([&] { return urgent_ran.load(); }));
  release = true;
  // Back within the bound once the extra worker has finished (it ends after its run).
  REQUIRE(eventually([&] { return pool.threads() <= 1; }));
}
