#include "vfs/core/batch_pacing.h"

#include <catch2/catch.hpp>

using ltxvfs::core::BatchPacing;
using std::chrono::microseconds;
using TimePoint = std::chrono::steady_clock::time_point;

TEST_CASE("batch pacing: a batch is full at kBatchCommits commits or kBatchFrames frames",
          "[write][pacing]") {
  CHECK_FALSE(BatchPacing::full(0, 0, false));
  CHECK_FALSE(BatchPacing::full(63, 126, false));  // one-row commits: 2 frames each
  CHECK(BatchPacing::full(64, 64, false));         // one frame each
  CHECK(BatchPacing::full(5, 130, false));         // 1000-row transactions: by frames
  CHECK_FALSE(BatchPacing::full(1, 127, false));
  // While commits come slowly, batches are kSlowScale times larger.
  CHECK_FALSE(BatchPacing::full(64, 128, true));
  CHECK_FALSE(BatchPacing::full(255, 510, true));
  CHECK(BatchPacing::full(256, 256, true));
  CHECK(BatchPacing::full(5, 512, true));
  // The commit path's bound lies beyond any batch.
  CHECK(BatchPacing::kWakeFrames > BatchPacing::kSlowScale * BatchPacing::kBatchFrames);
}

TEST_CASE("batch pacing: slow batches are woken when full, fast ones poll", "[write][pacing]") {
  CHECK_FALSE(BatchPacing::wake_when_full(microseconds(0), false));     // nothing measured yet
  CHECK_FALSE(BatchPacing::wake_when_full(microseconds(2500), false));  // 1-row NORMAL: ~2.5 ms
  CHECK(BatchPacing::wake_when_full(microseconds(13000), false));       // 1-row FULL: ~13 ms
  CHECK(BatchPacing::wake_when_full(BatchPacing::kMaxGather, false));   // a slow trickle
  // A slow batch: 1-row FULL fills one in ~50 ms and stays slow; one filled at NORMAL's rate
  // (~10 ms for 4x the commits) goes back to polling.
  CHECK(BatchPacing::wake_when_full(microseconds(50000), true));
  CHECK_FALSE(BatchPacing::wake_when_full(microseconds(10000), true));
  CHECK(BatchPacing::wake_when_full(BatchPacing::kMaxGather, true));
}

TEST_CASE("batch pacing: the gathering looks every kPoll and ends at kMaxGather",
          "[write][pacing]") {
  const TimePoint start{};
  CHECK(BatchPacing::next_look(start, start) == start + BatchPacing::kPoll);
  CHECK(BatchPacing::next_look(start, start + microseconds(48500)) == start + microseconds(49500));
  CHECK(BatchPacing::next_look(start, start + microseconds(49500)) ==
        start + BatchPacing::kMaxGather);
  CHECK(BatchPacing::next_look(start, start + microseconds(55000)) ==
        start + BatchPacing::kMaxGather);
}
