#include "storage/s3/retry_policy.h"

#include <algorithm>

namespace ltxvfs::storage {

bool is_retriable_http(long status, std::string_view s3_error_code) {
  if (status >= 500 && status <= 599) return true;
  if (status == 429) return true;
  if (status == 400 && s3_error_code == "RequestTimeout") return true;
  // Some stores send throttling codes with unusual statuses.
  return s3_error_code == "SlowDown" || s3_error_code == "Throttling" ||
         s3_error_code == "ThrottlingException" || s3_error_code == "RequestLimitExceeded";
}

Backoff::Backoff(RetryPolicy policy, uint64_t seed) : policy_(policy), rng_(seed) {}

std::chrono::milliseconds Backoff::delay(int failed_attempts) {
  const int64_t base = std::max<int64_t>(0, policy_.initial_backoff.count());
  const int64_t cap = std::max<int64_t>(0, policy_.max_backoff.count());
  int64_t ceiling = base;
  for (int i = 1; i < failed_attempts && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  if (ceiling <= 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<int64_t> dist(0, ceiling);
  std::lock_guard lock(mutex_);
  return std::chrono::milliseconds(dist(rng_));
}

}  // namespace ltxvfs::storage
