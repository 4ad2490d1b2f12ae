// base::parallel_for: one function over N items on up to K threads, the first error rethrown.
// Everything is counted with atomics; nothing depends on timing.
#include <pthread.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/parallel_for.h"

using ltxvfs::base::parallel_for;

namespace {

// Items running now, and the most ever seen at once.
struct Concurrency {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  void enter() {
    const int n = ++now;
    int p = peak.load();
    while (n > p && !peak.compare_exchange_weak(p, n)) {
    }
  }
  void leave() { --now; }
};

}  // namespace

TEST_CASE("parallel_for: every item runs exactly once", "[parallel_for]") {
  for (unsigned k : {1u, 2u, 3u, 8u}) {
    for (size_t n : {size_t{1}, size_t{2}, size_t{7}, size_t{1000}}) {
      std::vector<std::atomic<int>> runs(n);
      parallel_for(n, k, "test-pfor", [&](size_t i) { ++runs[i]; });
      for (size_t i = 0; i < n; ++i) {
        INFO("k=" << k << " n=" << n << " item " << i);
        REQUIRE(runs[i].load() == 1);
      }
    }
  }
}

TEST_CASE("parallel_for: at most K items run at once, and K do", "[parallel_for]") {
  for (unsigned k : {1u, 2u, 4u}) {
    Concurrency c;
    std::mutex mu;
    std::condition_variable all_in;
    std::set<std::thread::id> threads;
    // The first items wait until K run at once: each holds its thread, so this ends only if K
    // threads take part. Later items do not wait.
    parallel_for(10 * k, k, "test-pfor", [&](size_t) {
      c.enter();
      {
        std::unique_lock lock(mu);
        threads.insert(std::this_thread::get_id());
        if (c.peak.load() == static_cast<int>(k)) all_in.notify_all();
        all_in.wait(lock, [&] { return c.peak.load() == static_cast<int>(k); });
      }
      c.leave();
    });
    INFO("k=" << k);
    REQUIRE(c.peak.load() == static_cast<int>(k));
    REQUIRE(threads.size() == k);
    REQUIRE(threads.count(std::this_thread::get_id()) == 1);  // the caller works too
  }
}

TEST_CASE("parallel_for: never more threads than items", "[parallel_for]") {
  Concurrency c;
  std::mutex mu;
  std::set<std::thread::id> threads;
  parallel_for(3, 16, "test-pfor", [&](size_t) {
    c.enter();
    {
      std::lock_guard lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    c.leave();
  });
  REQUIRE(c.peak.load() <= 3);
  REQUIRE(threads.size() <= 3);
}

TEST_CASE("parallel_for: its threads carry the name given", "[parallel_for]") {
  std::mutex mu;
  std::set<std::string> names;
  std::atomic<int> in{0};
  std::condition_variable both_in;
  parallel_for(2, 2, "test-pfor", [&](size_t) {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    std::unique_lock lock(mu);
    names.insert(name);
    ++in;
    both_in.notify_all();
    both_in.wait(lock, [&] { return in.load() == 2; });  // so each item has its own thread
  });
  REQUIRE(names.count("test-pfor") == 1);
  REQUIRE(names.size() == 2);  // the caller's own name and the started thread's
}

TEST_CASE("parallel_for: N=0 calls nothing", "[parallel_for]") {
  std::atomic<int> calls{0};
  parallel_for(0, 4, "test-pfor", [&](size_t) { ++calls; });
  parallel_for(0, 0, "test-pfor", [&](size_t) { ++calls; });
  REQUIRE(calls.load() == 0);
}

TEST_CASE("parallel_for: K=1 (and K=0) runs the items in order on the caller", "[parallel_for]") {
  for (unsigned k : {0u, 1u}) {
    std::vector<size_t> order;
    std::set<std::thread::id> threads;
    parallel_for(20, k, "test-pfor", [&](size_t i) {
      order.push_back(i);
      threads.insert(std::this_thread::get_id());
    });
    REQUIRE(order.size() == 20);
    for (size_t i = 0; i < order.size(); ++i) REQUIRE(order[i] == i);
    REQUIRE(threads == std::set<std::thread::id>{std::this_thread::get_id()});
  }
}

TEST_CASE("parallel_for: K=1, an error stops the items after it", "[parallel_for]") {
  std::vector<size_t> ran;
  try {
    parallel_for(10, 1, "test-pfor", [&](size_t i) {
      ran.push_back(i);
      if (i == 3) throw std::runtime_error("item 3");
    });
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    REQUIRE(std::string(e.what()) == "item 3");
  }
  REQUIRE(ran == std::vector<size_t>{0, 1, 2, 3});
}

TEST_CASE("parallel_for: an error stops every thread after its item and reaches the caller",
          "[parallel_for]") {
  for (unsigned k : {2u, 4u, 8u}) {
    // Item 0 (always taken first) throws; every other item waits until item 0 has thrown and
    // throws too. A thread stops at its item's error, so each runs at most one item: at most k
    // start of the 1000. Which error is recorded first is a race; the caller gets one of them.
    std::atomic<int> started{0};
    std::mutex mu;
    std::condition_variable thrown_cv;
    bool thrown = false;
    try {
      parallel_for(1000, k, "test-pfor", [&](size_t i) {
        ++started;
        if (i == 0) {
          {
            std::lock_guard lock(mu);
            thrown = true;
          }
          thrown_cv.notify_all();
          throw std::runtime_error("item 0");
        }
        std::unique_lock lock(mu);
        thrown_cv.wait(lock, [&] { return thrown; });
        throw std::runtime_error("item " + std::to_string(i));
      });
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      REQUIRE(what.rfind("item ", 0) == 0);
      REQUIRE(std::stoul(what.substr(5)) < k);  // items are handed out in index order
    }
    INFO("k=" << k);
    REQUIRE(started.load() >= 1);
    REQUIRE(started.load() <= static_cast<int>(k));
  }
}

TEST_CASE("parallel_for: the one error among successes reaches the caller", "[parallel_for]") {
  // Only item 0 throws; the others wait until it has, then succeed.
  std::mutex mu;
  std::condition_variable thrown_cv;
  bool thrown = false;
  REQUIRE_THROWS_WITH(parallel_for(100, 4, "test-pfor",
                                   [&](size_t i) {
                                     if (i == 0) {
                                       {
                                         std::lock_guard lock(mu);
                                         thrown = true;
                                       }
                                       thrown_cv.notify_all();
                                       throw std::runtime_error("item 0");
                                     }
                                     std::unique_lock lock(mu);
                                     thrown_cv.wait(lock, [&] { return thrown; });
                                   }),
                      "item 0");
}

TEST_CASE("parallel_for: an error thrown on a started thread reaches the caller",
          "[parallel_for]") {
  // Item 1 throws on whichever thread runs it; the others succeed.
  REQUIRE_THROWS_WITH(parallel_for(50, 4, "test-pfor",
                                   [&](size_t i) {
                                     if (i == 1) throw std::runtime_error("item 1");
                                   }),
                      "item 1");
}
