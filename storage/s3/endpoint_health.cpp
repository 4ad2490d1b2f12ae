// EndpointHealth: the silent-endpoint rule (see endpoint_health.h) and the process's records.
#include "storage/s3/endpoint_health.h"

#include <cstdio>
#include <map>

namespace ltxvfs::storage {

namespace {

// By endpoint and proxy (the route). Weak: a record lives while a store uses it; what was learnt
// about an endpoint no store talks to any more is stale anyway.
struct Records {
  base::Mutex mu;
  std::map<std::string, std::weak_ptr<EndpointHealth>> by_endpoint GUARDED_BY(mu);
};

Records& records() {
  static Records* const r = new Records;  // never destroyed: stores may outlive static teardown
  return *r;
}

}  // namespace

std::shared_ptr<EndpointHealth> EndpointHealth::of(const std::string& endpoint,
                                                   const std::string& proxy,
                                                   const SilentEndpointPolicy& policy) {
  Records& r = records();
  base::MutexLock lock(r.mu);
  std::erase_if(r.by_endpoint, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = r.by_endpoint[endpoint + '\n' + proxy];
  auto record = slot.lock();
  if (!record) {
    record = std::make_shared<EndpointHealth>(endpoint, policy);
    slot = record;
  }
  return record;
}

std::optional<EndpointHealth::Attempt> EndpointHealth::admit() {
  base::MutexLock lock(mu_);
  if (!silent_) return Attempt(this, false);
  if (probing_ || Clock::now() < next_probe_) return std::nullopt;
  probing_ = true;
  return Attempt(this, true);
}

void EndpointHealth::answered(bool probe) {
  base::MutexLock lock(mu_);
  if (probe) probing_ = false;
  timeouts_in_a_row_ = 0;
  last_answer_ = Clock::now();
  silent_ = false;
}

void EndpointHealth::timed_out(bool probe) {
  base::MutexLock lock(mu_);
  const auto now = Clock::now();
  ++timeouts_in_a_row_;
  if (probe) {
    probing_ = false;
    next_probe_ = now + policy_.probe_every;  // counted from the end: a probe waits long
  }
  // Both conditions: a few attempts capped short (a lease renewal's 1.25 s) may time out against
  // an endpoint that is only slow, while it still answers others.
  if (!silent_ && policy_.timeouts > 0 && timeouts_in_a_row_ >= policy_.timeouts &&
      now - last_answer_ >= policy_.silent_for) {
    silent_ = true;
    next_probe_ = now + policy_.probe_every;
  }
}

void EndpointHealth::abandoned(bool probe) {
  if (!probe) return;
  base::MutexLock lock(mu_);
  probing_ = false;
  next_probe_ = Clock::now();
}

bool EndpointHealth::silent() const {
  base::MutexLock lock(mu_);
  return silent_;
}

std::string EndpointHealth::refusal() const {
  base::MutexLock lock(mu_);
  char since[32];
  std::snprintf(since, sizeof since, "%.0f s",
                std::chrono::duration<double>(Clock::now() - last_answer_).count());
  return "not sent: " + endpoint_ + " has answered none of the last " +
         std::to_string(timeouts_in_a_row_) + " requests (each timed out) and nothing for " +
         since + "; this process sends it one request at a time until it answers";
}

}  // namespace ltxvfs::storage
