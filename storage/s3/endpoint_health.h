// EndpointHealth: what this process's S3 requests have learnt about one endpoint, shared by every
// store that talks to it, so that a silent endpoint costs one waiting thread, not one per
// database (issue 18).
//
// Why: a store that accepts connections and never answers holds each request until its stall
// abort (10 s by default; StoreSettings::silent_store_bound is ~26 s per call with the retries).
// A process with a thousand databases on such an endpoint would have every pooled worker (8 here)
// waiting on it, round after round, and the databases on healthy stores would wait behind them.
//
// The rule: once `timeouts` attempts in a row have timed out and no attempt has been answered for
// `silent_for`, the endpoint is silent. Then an attempt is refused at once (the caller gets
// StoreError kUnavailable and retries on its own schedule, without a thread waiting), except one
// probe at a time, the first `probe_every` after the endpoint fell silent and each next one
// `probe_every` after the last timed out. The first answer of any kind (an HTTP error
// too) makes it healthy again. Refused connections, DNS failures and HTTP errors are fast and
// never count; a cancelled attempt tells nothing.
//
// Concurrency contract: every method may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/mutex.h"

namespace ltxvfs::storage {

struct SilentEndpointPolicy {
  int timeouts = 3;  // 0: never refuse an attempt
  std::chrono::milliseconds silent_for{5'000};
  std::chrono::milliseconds probe_every{1'000};
};

class EndpointHealth {
 public:
  using Clock = std::chrono::steady_clock;

  // The process's record for `endpoint` reached through `proxy` (may be empty; a proxy URL may hold
  // a password, so only the endpoint is ever shown), created on first use and shared while any
  // store holds it.
  // `policy`: the first store's there (a process uses one; tests use their own endpoints).
  static std::shared_ptr<EndpointHealth> of(const std::string& endpoint, const std::string& proxy,
                                            const SilentEndpointPolicy& policy);

  EndpointHealth(std::string endpoint, const SilentEndpointPolicy& policy)
      : endpoint_(std::move(endpoint)), policy_(policy) {}

  // One admitted attempt: the sender reports how it ended; one that ends without a report (an
  // exception, a cancellation) tells nothing, and gives a probe's turn to the next attempt.
  class Attempt {
   public:
    Attempt(EndpointHealth* health, bool probe) : health_(health), probe_(probe) {}
    Attempt(Attempt&& other) noexcept : health_(other.health_), probe_(other.probe_) {
      other.health_ = nullptr;
    }
    Attempt& operator=(Attempt&&) = delete;
    ~Attempt() { report(&EndpointHealth::abandoned); }
    bool probe() const { return probe_; }
    void answered() { report(&EndpointHealth::answered); }
    void timed_out() { report(&EndpointHealth::timed_out); }
    // Refused connection, DNS: no thread waited long, so a probe's turn goes to the next attempt
    // at once (a server restarting), as when the attempt ends without a report.
    void failed_fast() { report(&EndpointHealth::abandoned); }

   private:
    void report(void (EndpointHealth::*how)(bool probe)) {
      if (health_ != nullptr) (health_->*how)(probe_);
      health_ = nullptr;
    }
    EndpointHealth* health_;  // null once reported
    bool probe_;
  };

  // An attempt may be sent, or nullopt when the endpoint is silent and another attempt is probing
  // it (or probed it less than probe_every ago); refusal() then says why.
  std::optional<Attempt> admit() EXCLUDES(mu_);

  // Why attempts are refused: the endpoint, the timeouts in a row, how long since an answer.
  std::string refusal() const EXCLUDES(mu_);
  bool silent() const EXCLUDES(mu_);

 private:
  void answered(bool probe) EXCLUDES(mu_);
  void timed_out(bool probe) EXCLUDES(mu_);
  void abandoned(bool probe) EXCLUDES(mu_);

  // Constant after construction.
  const std::string endpoint_;
  const SilentEndpointPolicy policy_;  // the first store's there

  mutable base::Mutex mu_;
  int timeouts_in_a_row_ GUARDED_BY(mu_) = 0;
  Clock::time_point last_answer_ GUARDED_BY(mu_) = Clock::now();
  bool silent_ GUARDED_BY(mu_) = false;
  bool probing_ GUARDED_BY(mu_) = false;
  Clock::time_point next_probe_ GUARDED_BY(mu_);
};

}  // namespace ltxvfs::storage
