// When and how long to wait before trying an S3 request again.
//
// Retried: transport failures (connection refused/reset, DNS, timeouts), HTTP 5xx (including 503
// SlowDown), and two throttling/timeout answers every AWS SDK retries although they are 4xx:
// 429 (Too Many Requests, sent by several S3-compatible stores) and 400 RequestTimeout (S3 gave up
// waiting for the request body). Every other 4xx is final: repeating a bad request cannot help.
//
// Delays use exponential backoff (base::Backoff) with "full jitter" (a uniform draw in [0, min(cap,
// base*2^n)]), so many clients retrying at once spread out instead of stampeding. Attempts are
// bounded both by count and by total elapsed time; each attempt is bounded by HttpOptions (connect
// timeout, stall abort, optional cap), so a call never hangs (StoreSettings::silent_store_bound
// says how long it can take at worst). Backoff sleeps end at once when the store is cancelled.
//
// The budget is short on purpose: the store only smooths over blips. Callers that must not give
// up (the uploader) retry whole operations on their own schedule, and a caller that is closing
// should not sit behind a long budget.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/backoff.h"

namespace ltxvfs::storage {

struct RetryPolicy {
  int max_attempts = 8;  // including the first; 1 = never retry
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
  // No new attempt starts once this much time has passed since the first one began (and no
  // backoff sleep runs past it).
  std::chrono::milliseconds max_total{10'000};
};

// True when an HTTP answer with this status and S3 error code may succeed if repeated.
bool is_retriable_http(long status, std::string_view s3_error_code);

// The policy's delays as a base::Backoff with full jitter: one per store, shared by its threads
// (S3Store::execute asks it for delay(attempt)).
std::unique_ptr<base::Backoff> make_backoff(const RetryPolicy& policy);

}  // namespace ltxvfs::storage
