#include "base/backoff.h"

#include <algorithm>
#include <limits>

namespace ltxvfs::base {

using std::chrono::milliseconds;

Backoff::Backoff(milliseconds initial, milliseconds cap, Jitter jitter, uint64_t seed)
    : initial_(std::max(initial, milliseconds(0))),
      cap_(std::max(cap, milliseconds(0))),
      jitter_(jitter),
      rng_(seed) {}

milliseconds Backoff::ceiling(int failed_attempts) const {
  // Doubling stops at the cap, so it never overflows however many attempts failed.
  int64_t ceiling = initial_.count();
  const int64_t cap = cap_.count();
  for (int i = 1; i < failed_attempts && ceiling < cap; ++i) ceiling *= 2;
  return milliseconds(std::min(ceiling, cap));
}

milliseconds Backoff::draw(int failed_attempts) {
  const milliseconds top = ceiling(failed_attempts);
  if (jitter_ == Jitter::kNone || top.count() <= 0) return top;
  std::uniform_int_distribution<int64_t> dist(0, top.count());
  return milliseconds(dist(rng_));
}

milliseconds Backoff::delay(int failed_attempts) {
  MutexLock lock(mu_);
  return draw(failed_attempts);
}

milliseconds Backoff::next() {
  MutexLock lock(mu_);
  if (failures_ < std::numeric_limits<int>::max()) ++failures_;
  return draw(failures_);
}

void Backoff::reset() {
  MutexLock lock(mu_);
  failures_ = 0;
}

int Backoff::failures() const {
  MutexLock lock(mu_);
  return failures_;
}

}  // namespace ltxvfs::base
