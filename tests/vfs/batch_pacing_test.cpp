#include "vfs/writer/batch_pacing.h"

#include <catch2/catch.hpp>

using ltxvfs::writer::BatchPacing;
using std::chrono::microseconds;
using TimePoint = std::chrono::steady_clock::time_point;

TEST_CASE("batch pacing: a batch is full at kBatchCommits commits or kBatchFrames frames",
          "[write][pacing]") {
  CHECK_FALSE(BatchPacing::full(0, 0, 1));
  CHECK_FALSE(BatchPacing::full(63, 126, 1));  // one-row commits: 2 frames each
  CHECK(BatchPacing::full(64, 64, 1));         // one frame each
  CHECK(BatchPacing::full(5, 130, 1));         // 1000-row transactions: by frames
  CHECK_FALSE(BatchPacing::full(1, 127, 1));
  // Scaled up (small commits that come slowly).
  const size_t slow = BatchPacing::kSlowScale;
  CHECK_FALSE(BatchPacing::full(64, 128, slow));
  CHECK_FALSE(BatchPacing::full(slow * 64 - 1, slow * 128 - 2, slow));
  CHECK(BatchPacing::full(slow * 64, slow * 64, slow));
  CHECK(BatchPacing::full(5, slow * 128, slow));
  // The commit path's bound lies beyond any batch.
  CHECK(BatchPacing::kWakeFrames > slow * BatchPacing::kBatchFrames);
}

TEST_CASE("batch pacing: slow batches are woken when full, fast ones poll", "[write][pacing]") {
  using Last = BatchPacing::LastBatch;
  auto pace = [](Last last) { return BatchPacing::next_pace(last); };
  // Nothing measured yet, and one-row NORMAL (64 commits, 128 frames in ~2.5 ms): polling.
  CHECK_FALSE(pace({}).wake_when_full);
  CHECK(pace({}).scale == 1);
  CHECK_FALSE(pace({microseconds(2500), 64, 128, 1}).wake_when_full);
  // One-row FULL (~13 ms per batch): woken when full, and batches four times larger.
  CHECK(pace({microseconds(13000), 64, 128, 1}).wake_when_full);
  CHECK(pace({microseconds(13000), 64, 128, 1}).scale == BatchPacing::kSlowScale);
  // ... where it stays: a larger batch takes ~50 ms (or ends at kMaxGather).
  CHECK(pace({microseconds(50000), 256, 512, 4}).wake_when_full);
  CHECK(pace({BatchPacing::kMaxGather, 200, 400, 4}).scale == BatchPacing::kSlowScale);
  // A larger batch filled at NORMAL's rate (~10 ms for 4x the commits) goes back to polling.
  const auto back = pace({microseconds(10000), 256, 512, 4});
  CHECK_FALSE(back.wake_when_full);
  CHECK(back.scale == 1);
  // Large transactions that come slowly: woken when full, but batches keep their size.
  const auto large = pace({microseconds(6000), 2, 200, 1});
  CHECK(large.wake_when_full);
  CHECK(large.scale == 1);
  // A slow trickle of single commits: woken when full.
  CHECK(pace({BatchPacing::kMaxGather, 3, 6, 1}).wake_when_full);
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
