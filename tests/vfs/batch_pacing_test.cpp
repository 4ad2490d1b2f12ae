#include "vfs/core/batch_pacing.h"

#include <catch2/catch.hpp>

using ltxvfs::core::BatchPacing;
using std::chrono::microseconds;
using TimePoint = std::chrono::steady_clock::time_point;

TEST_CASE("batch pacing: a batch is full at kBatchCommits commits or kBatchFrames frames",
          "[write][pacing]") {
  CHECK_FALSE(BatchPacing::full(0, 0));
  CHECK_FALSE(BatchPacing::full(63, 126));  // one-row commits: 2 frames each
  CHECK(BatchPacing::full(64, 64));         // one frame each
  CHECK(BatchPacing::full(5, 130));         // 1000-row transactions: by frames
  CHECK_FALSE(BatchPacing::full(1, 127));
  CHECK(BatchPacing::kWakeFrames > BatchPacing::kBatchFrames);  // the commit path's bound
}

TEST_CASE("batch pacing: slow batches are woken when full, fast ones poll", "[write][pacing]") {
  CHECK_FALSE(BatchPacing::wake_when_full(microseconds(0)));     // nothing measured yet
  CHECK_FALSE(BatchPacing::wake_when_full(microseconds(2500)));  // 1-row NORMAL: ~2.5 ms
  CHECK(BatchPacing::wake_when_full(microseconds(13000)));       // 1-row FULL: ~13 ms
  CHECK(BatchPacing::wake_when_full(BatchPacing::kMaxGather));   // a slow trickle
}

TEST_CASE("batch pacing: the gathering looks every kPoll and ends at kMaxGather",
          "[write][pacing]") {
  const TimePoint start{};
  CHECK(BatchPacing::next_look(start, start) == start + BatchPacing::kPoll);
  CHECK(BatchPacing::next_look(start, start + microseconds(18500)) == start + microseconds(19500));
  CHECK(BatchPacing::next_look(start, start + microseconds(19500)) ==
        start + BatchPacing::kMaxGather);
  CHECK(BatchPacing::next_look(start, start + microseconds(25000)) ==
        start + BatchPacing::kMaxGather);
}
