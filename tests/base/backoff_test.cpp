// base::Backoff: the delays' figures (doubling, the cap, reset, jitter's bounds), by counting
// values, never by timing.
#include "base/backoff.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

using ltxvfs::base::Backoff;
using std::chrono::milliseconds;

namespace {

std::vector<int64_t> next_n(Backoff& backoff, int n) {
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(backoff.next().count());
  return out;
}

}  // namespace

TEST_CASE("backoff: each failure doubles the delay, from the initial one", "[backoff]") {
  Backoff backoff(milliseconds(100), milliseconds(30'000));
  CHECK(next_n(backoff, 5) == std::vector<int64_t>{100, 200, 400, 800, 1600});
  CHECK(backoff.failures() == 5);
}

TEST_CASE("backoff: the delay stops at the cap, which need not be a doubling", "[backoff]") {
  // The upload stage's figures: 100 ms doubling to 25.6 s, then 30 s for good.
  Backoff backoff(milliseconds(100), milliseconds(30'000));
  const auto delays = next_n(backoff, 12);
  CHECK(delays[8] == 25'600);
  CHECK(delays[9] == 30'000);
  CHECK(delays[11] == 30'000);
  // Thousands of failures later it still neither overflows nor passes the cap.
  for (int i = 0; i < 5000; ++i) backoff.next();
  CHECK(backoff.next() == milliseconds(30'000));
  CHECK(backoff.ceiling(1'000'000) == milliseconds(30'000));
}

TEST_CASE("backoff: reset starts the next streak at the initial delay", "[backoff]") {
  Backoff backoff(milliseconds(1000), milliseconds(60'000));
  next_n(backoff, 4);
  backoff.reset();
  CHECK(backoff.failures() == 0);
  CHECK(next_n(backoff, 3) == std::vector<int64_t>{1000, 2000, 4000});
}

TEST_CASE("backoff: delay(n) is the n-th delay, without touching the streak", "[backoff]") {
  Backoff backoff(milliseconds(100), milliseconds(5'000));
  CHECK(backoff.delay(0) == milliseconds(100));
  CHECK(backoff.delay(1) == milliseconds(100));
  CHECK(backoff.delay(3) == milliseconds(400));
  CHECK(backoff.delay(7) == milliseconds(5'000));
  CHECK(backoff.failures() == 0);
}

TEST_CASE("backoff: full jitter draws within [0, ceiling] and spreads", "[backoff]") {
  Backoff backoff(milliseconds(100), milliseconds(5'000), Backoff::Jitter::kFull, /*seed=*/42);
  for (int attempt = 1; attempt <= 10; ++attempt) {
    int64_t low = 1 << 30, high = -1;
    for (int i = 0; i < 200; ++i) {
      const int64_t d = backoff.delay(attempt).count();
      REQUIRE(d >= 0);
      REQUIRE(d <= backoff.ceiling(attempt).count());
      low = std::min(low, d);
      high = std::max(high, d);
    }
    CHECK(high > low);  // 200 draws in [0, >= 100] are not all equal
  }
}

TEST_CASE("backoff: a zero or negative figure means no wait", "[backoff]") {
  Backoff zero(milliseconds(0), milliseconds(5'000), Backoff::Jitter::kFull);
  CHECK(zero.delay(3) == milliseconds(0));
  Backoff no_cap(milliseconds(100), milliseconds(-1));
  CHECK(no_cap.next() == milliseconds(0));
}
