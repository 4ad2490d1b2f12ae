#include "storage/s3/retry_policy.h"

namespace ltxvfs::storage {

bool is_retriable_http(long status, std::string_view s3_error_code) {
  if (status >= 500 && status <= 599) return true;
  if (status == 429) return true;
  if (status == 400 && s3_error_code == "RequestTimeout") return true;
  // Some stores send throttling codes with unusual statuses.
  return s3_error_code == "SlowDown" || s3_error_code == "Throttling" ||
         s3_error_code == "ThrottlingException" || s3_error_code == "RequestLimitExceeded";
}

std::unique_ptr<base::Backoff> make_backoff(const RetryPolicy& policy) {
  return std::make_unique<base::Backoff>(policy.initial_backoff, policy.max_backoff,
                                         base::Backoff::Jitter::kFull);
}

}  // namespace ltxvfs::storage
