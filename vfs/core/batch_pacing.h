// When the builder takes the next batch of commits.
//
// Each batch has fixed costs (an LTX header, index and trailer, a spool record), so commits are
// built in batches of about kBatchCommits commits or kBatchFrames WAL frames, gathered for at
// most kMaxGather. While commits come fast, the builder checks the queue every kPoll rather than
// being woken by the committing thread when the batch fills: waking a sleeping thread is a futex
// call plus an inter-processor interrupt paid by the *committing* thread, measured at ~50 us on
// this project's virtual machines (3 % of one-row commits at synchronous=NORMAL when paid every
// 64 commits), while a timer wake-up costs only the builder's core. While they come slowly
// (a batch took kWakeWhenFullAfter or more to gather: synchronous=FULL, large transactions) the
// wake-up is under 1 % of the commits' time, and a dozen timer wake-ups per batch cost more than
// that (their interrupts land on the committing thread's core too): the committing thread wakes
// the builder when the batch is full. Anyone waiting for the build (a checkpoint, a WAL restart,
// a flush) ends the gathering at once, and the committing thread wakes the builder when far
// more than a batch is queued (kWakeFrames).
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
  static constexpr std::chrono::microseconds kWakeWhenFullAfter{4000};

  // A batch of `commits` commits holding `frames` WAL frames is worth building now.
  static bool full(size_t commits, uint64_t frames) {
    return commits >= kBatchCommits || frames >= kBatchFrames;
  }
  // Whether the next gathering should be woken when full rather than poll, given how long the
  // last whole batch took to gather (0: none yet).
  static bool wake_when_full(std::chrono::microseconds last_gathering) {
    return last_gathering >= kWakeWhenFullAfter;
  }
  // When a polling gathering that started at `start` next looks at the queue, as of `now`.
  template <typename TimePoint>
  static TimePoint next_look(TimePoint start, TimePoint now) {
    const TimePoint end = start + kMaxGather;
    return now + kPoll < end ? now + kPoll : end;
  }
};

}  // namespace ltxvfs::core
