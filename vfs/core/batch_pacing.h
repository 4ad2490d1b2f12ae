// When the builder takes the next batch of commits.
//
// Each batch has fixed costs (an LTX header, index and trailer, a spool record), so commits are
// built in batches of about kBatchCommits commits or kBatchFrames WAL frames, gathered for at
// most kMaxGather. The builder checks the queue every kPoll while a batch gathers rather than
// being woken by the committing thread when it fills: waking a sleeping thread is a futex call
// plus an inter-processor interrupt paid by the *committing* thread, measured at ~50 us on this
// project's virtual machines (3 % of one-row commits at synchronous=NORMAL when paid every 64
// commits), while a timer wake-up costs only the builder's core. Anyone waiting for the build (a
// checkpoint, a WAL restart, a flush) still ends the gathering at once, and the committing thread
// still wakes the builder when far more than a batch is queued (kWakeFrames).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ltxvfs::core {

struct BatchPacing {
  static constexpr size_t kBatchCommits = 64;
  static constexpr uint64_t kBatchFrames = 128;
  static constexpr uint64_t kWakeFrames = 8 * kBatchFrames;
  static constexpr std::chrono::microseconds kPoll{1000};
  static constexpr std::chrono::microseconds kMaxGather{20000};  // short next to any upload

  // A batch of `commits` commits holding `frames` WAL frames is worth building now.
  static bool full(size_t commits, uint64_t frames) {
    return commits >= kBatchCommits || frames >= kBatchFrames;
  }
  // When the gathering that started at `start` next looks at the queue, as of `now`.
  template <typename TimePoint>
  static TimePoint next_look(TimePoint start, TimePoint now) {
    const TimePoint end = start + kMaxGather;
    return now + kPoll < end ? now + kPoll : end;
  }
};

}  // namespace ltxvfs::core
