// Backoff: exponential delays between retries, written once for every floor. The n-th delay of a
// streak of failures is initial * 2^(n-1), capped at `cap` (100 ms, 200 ms, 400 ms, ... with
// initial 100 ms); with full jitter it is a uniform draw in [0, that], so many clients retrying
// at once spread out instead of stampeding (S3's retries). Without jitter the figures are exact
// (the writer's upload and history retries, whose waits are tested and logged).
//
// Two ways to use it: delay(n) for a caller that counts its own attempts (one Backoff shared by
// the threads of an S3 store), or next() / reset() for one retry loop's streak. Both are
// thread-safe; the random draw and the streak are under the Backoff's own mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace ltxvfs::base {

class Backoff {
 public:
  enum class Jitter { kNone, kFull };

  // A negative `initial` or `cap` counts as zero (every delay is then zero).
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap,
          Jitter jitter = Jitter::kNone, uint64_t seed = std::random_device{}());
  Backoff(const Backoff&) = delete;
  Backoff& operator=(const Backoff&) = delete;

  // The largest delay after `failed_attempts` failures: initial * 2^(failed_attempts - 1), at
  // most cap (initial for 1 or fewer). No jitter, no state.
  std::chrono::milliseconds ceiling(int failed_attempts) const;
  // The delay after `failed_attempts` failures (1 after the first): the ceiling, or with full
  // jitter a uniform draw in [0, ceiling].
  std::chrono::milliseconds delay(int failed_attempts) EXCLUDES(mu_);

  // One retry loop's streak: next() counts a failure and returns its delay (initial first);
  // reset() ends the streak after a success, so the next failure waits `initial` again.
  std::chrono::milliseconds next() EXCLUDES(mu_);
  void reset() EXCLUDES(mu_);
  int failures() const EXCLUDES(mu_);  // in the current streak

  std::chrono::milliseconds initial() const { return initial_; }
  std::chrono::milliseconds cap() const { return cap_; }

 private:
  std::chrono::milliseconds draw(int failed_attempts) REQUIRES(mu_);

  const std::chrono::milliseconds initial_;
  const std::chrono::milliseconds cap_;
  const Jitter jitter_;
  mutable Mutex mu_;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
  int failures_ GUARDED_BY(mu_) = 0;
};

}  // namespace ltxvfs::base
