// FaultInjectingStore: wraps another ObjectStore and makes it slow or unreliable on purpose, for
// fault tests and benchmarks (neither moto nor s3rver can inject faults).
//
//   - latency: sleep before every request (simulates a distant store; moto/s3rver are local);
//   - fail_next(n): the next n requests throw kUnavailable;
//   - failure probability: each request fails with probability p, drawn from a seeded RNG so a
//     run is reproducible;
//   - vanish(key): the key behaves as deleted — get → kNotFound, head → nullopt, omitted from
//     list — while the object stays in the inner store (restore() brings it back).
//
// Injected failures never reach the inner store. put_body streams to the inner store's put_body
// (memory stays as bounded as the inner store keeps it). With a cancellation set, the latency
// sleep ends at once on cancel() and calls fail with kCancelled before reaching the inner store.
// All methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>

#include "base/mutex.h"
#include "storage/cancellation.h"
#include "storage/object_store.h"

namespace ltxvfs::storage {

class FaultInjectingStore : public ObjectStore {
 public:
  explicit FaultInjectingStore(std::unique_ptr<ObjectStore> inner, uint64_t seed = 1);

  void set_latency(std::chrono::microseconds latency);
  void set_cancellation(std::shared_ptr<Cancellation> cancel);
  void fail_next(int requests);
  void set_failure_probability(double probability);
  void vanish(const std::string& key);
  void restore(const std::string& key);
  uint64_t injected_failures() const;
  ObjectStore& inner() { return *inner_; }

  PutResult put(const std::string& key, std::span<const uint8_t> body,
                const PutOptions& options = {}) override;
  PutResult put_body(const std::string& key, const BodySource& body,
                     const PutOptions& options = {}) override;
  GetResult get(const std::string& key, std::optional<ByteRange> range = std::nullopt) override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& prefix,
                               const std::string& start_after = "") override;
  void remove(const std::vector<std::string>& keys) override;
  std::string describe() const override;

 private:
  // Applies latency and maybe throws; returns whether `key` has vanished.
  bool before(const char* op, const std::string& key);

  std::unique_ptr<ObjectStore> inner_;  // constant after construction; thread-safe itself
  mutable base::Mutex mutex_;
  std::mt19937_64 rng_ GUARDED_BY(mutex_);
  std::chrono::microseconds latency_ GUARDED_BY(mutex_){0};
  int fail_next_ GUARDED_BY(mutex_) = 0;
  double probability_ GUARDED_BY(mutex_) = 0.0;
  uint64_t injected_ GUARDED_BY(mutex_) = 0;
  std::set<std::string> vanished_ GUARDED_BY(mutex_);
  std::shared_ptr<Cancellation> cancel_;
};

}  // namespace ltxvfs::storage
