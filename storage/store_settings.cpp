#include "storage/store_settings.h"

#include <algorithm>

namespace ltxvfs::storage {

std::chrono::milliseconds StoreSettings::silent_store_bound() const {
  using std::chrono::milliseconds;
  // The stall detector samples once a second, so it may fire up to a second late.
  const milliseconds stall(http.low_speed_time_s * 1000 + 1000);
  milliseconds attempt = milliseconds(http.connect_timeout_ms) + stall;
  if (http.request_timeout_ms > 0)
    attempt = std::min(attempt, milliseconds(http.request_timeout_ms));
  return retry.max_total + attempt;
}

StoreSettings& StoreSettings::limit_calls_to(std::chrono::milliseconds budget) {
  const auto half = std::max<std::chrono::milliseconds::rep>(1, budget.count() / 2);
  retry.max_total = std::chrono::milliseconds(half);
  http.request_timeout_ms = static_cast<long>(half);
  http.connect_timeout_ms = std::min(http.connect_timeout_ms, static_cast<long>(half));
  return *this;
}

}  // namespace ltxvfs::storage
