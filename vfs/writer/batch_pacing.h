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
// the builder when the batch is full, and batches of small commits are kSlowScale times larger:
// each batch is a burst of reads, compression and a spool append on a machine whose commits wait
// for the disk, and a quarter of the bursts measured one-row FULL commits 1-4 % faster
// (bench/RESULTS.md, issue 9's fifth pass). Anyone waiting for the build (a WAL restart, a
// flush, the closing checkpoint) ends the gathering at once, and the committing thread wakes the
// builder when far more than a batch is queued (kWakeFrames).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ltxvfs::writer {

struct BatchPacing {
  static constexpr size_t kBatchCommits = 64;
  static constexpr uint64_t kBatchFrames = 128;
  static constexpr size_t kSlowScale = 4;            // batches of small commits that come slowly
  static constexpr uint64_t kSmallCommitFrames = 8;  // "small": at most this many frames each
  static constexpr uint64_t kWakeFrames = 2 * kSlowScale * kBatchFrames;
  static constexpr std::chrono::microseconds kPoll{1000};
  static constexpr std::chrono::microseconds kMaxGather{50000};  // short next to any upload
  static constexpr std::chrono::microseconds kWakeWhenFullAfter{4000};

  // The last batch whose gathering ran to the end (filled, or kMaxGather passed).
  struct LastBatch {
    std::chrono::microseconds gathering{0};  // 0: none yet
    size_t commits = 0;
    uint64_t frames = 0;
    size_t scale = 1;  // its Pace::scale
  };
  // How the next gathering goes.
  struct Pace {
    bool wake_when_full = false;  // commits come slowly: the filling commit wakes the builder
    size_t scale = 1;             // batch bounds are this many times kBatchCommits/kBatchFrames
  };

  static Pace next_pace(const LastBatch& last) {
    // Judged per batch of the base size, so that a larger batch filled at a fast rate goes back
    // to polling. Only small commits get larger batches: a batch of large transactions is a
    // long build already, and a WAL restart waits for what is queued (4x the frames measured
    // 1000-row FULL 2 % slower, when checkpoints still waited for it).
    const bool slow = last.gathering >= static_cast<int>(last.scale) * kWakeWhenFullAfter;
    const bool small = last.commits > 0 && last.frames <= kSmallCommitFrames * last.commits;
    return {slow, slow && small ? kSlowScale : 1};
  }
  // A batch of `commits` commits holding `frames` WAL frames is worth building now.
  static bool full(size_t commits, uint64_t frames, size_t scale) {
    return commits >= scale * kBatchCommits || frames >= scale * kBatchFrames;
  }
  // When a polling gathering that started at `start` next looks at the queue, as of `now`.
  template <typename TimePoint>
  static TimePoint next_look(TimePoint start, TimePoint now) {
    const TimePoint end = start + kMaxGather;
    return now + kPoll < end ? now + kPoll : end;
  }
};

}  // namespace ltxvfs::writer
