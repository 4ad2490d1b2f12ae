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
// the builder when the batch is full, and batches are kSlowScale times larger: each one is a
// burst of reads, compression and a spool append on a machine whose commits wait for the disk,
// and fewer bursts measured 1-3 % faster one-row commits at FULL (bench/RESULTS.md, issue 9's
// fifth pass), while a batch still gathers in well under kMaxGather. Anyone waiting for the build
// (a checkpoint, a WAL restart, a flush) ends the gathering at once, and the committing thread
// wakes the builder when far more than a batch is queued (kWakeFrames).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ltxvfs::core {

struct BatchPacing {
  static constexpr size_t kBatchCommits = 64;
  static constexpr uint64_t kBatchFrames = 128;
  static constexpr size_t kSlowScale = 4;  // batches while commits come slowly
  static constexpr uint64_t kWakeFrames = 2 * kSlowScale * kBatchFrames;
  static constexpr std::chrono::microseconds kPoll{1000};
  static constexpr std::chrono::microseconds kMaxGather{50000};  // short next to any upload
  static constexpr std::chrono::microseconds kWakeWhenFullAfter{4000};

  // A batch of `commits` commits holding `frames` WAL frames is worth building now, while
  // commits come fast or `slow`ly (as wake_when_full() said).
  static bool full(size_t commits, uint64_t frames, bool slow) {
    const size_t scale = slow ? kSlowScale : 1;
    return commits >= scale * kBatchCommits || frames >= scale * kBatchFrames;
  }
  // Whether commits come slowly: the next gathering should be woken when full rather than poll,
  // with larger batches, given how long the last whole batch took to gather (0: none yet) and
  // whether it was a slow one. The bound scales with the batch, so that a slow batch filled at a
  // fast rate goes back to polling.
  static bool wake_when_full(std::chrono::microseconds last_gathering, bool last_slow) {
    return last_gathering >= (last_slow ? static_cast<int>(kSlowScale) : 1) * kWakeWhenFullAfter;
  }
  // When a polling gathering that started at `start` next looks at the queue, as of `now`.
  template <typename TimePoint>
  static TimePoint next_look(TimePoint start, TimePoint now) {
    const TimePoint end = start + kMaxGather;
    return now + kPoll < end ? now + kPoll : end;
  }
};

}  // namespace ltxvfs::core
