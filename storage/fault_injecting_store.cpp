#include "storage/fault_injecting_store.h"

#include <algorithm>
#include <thread>

namespace ltxvfs::storage {

FaultInjectingStore::FaultInjectingStore(std::unique_ptr<ObjectStore> inner, uint64_t seed)
    : inner_(std::move(inner)), rng_(seed) {}

void FaultInjectingStore::set_latency(std::chrono::microseconds latency) {
  base::MutexLock lock(mutex_);
  latency_ = latency;
}

void FaultInjectingStore::set_cancellation(std::shared_ptr<Cancellation> cancel) {
  base::MutexLock lock(mutex_);
  cancel_ = std::move(cancel);
}

void FaultInjectingStore::fail_next(int requests) {
  base::MutexLock lock(mutex_);
  fail_next_ = std::max(0, requests);
}

void FaultInjectingStore::set_failure_probability(double probability) {
  base::MutexLock lock(mutex_);
  probability_ = std::clamp(probability, 0.0, 1.0);
}

void FaultInjectingStore::vanish(const std::string& key) {
  base::MutexLock lock(mutex_);
  vanished_.insert(key);
}

void FaultInjectingStore::restore(const std::string& key) {
  base::MutexLock lock(mutex_);
  vanished_.erase(key);
}

uint64_t FaultInjectingStore::injected_failures() const {
  base::MutexLock lock(mutex_);
  return injected_;
}

bool FaultInjectingStore::before(const char* op, const std::string& key) {
  std::chrono::microseconds latency;
  std::shared_ptr<Cancellation> cancel;
  bool fail = false;
  bool vanished = false;
  {
    base::MutexLock lock(mutex_);
    latency = latency_;
    cancel = cancel_;
    if (fail_next_ > 0) {
      --fail_next_;
      fail = true;
    } else if (probability_ > 0.0) {
      fail = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < probability_;
    }
    if (fail) ++injected_;
    vanished = vanished_.count(key) > 0;
  }
  const std::string operation = std::string(op) + " " + describe() + "/" + key;
  throw_if_cancelled(cancel.get(), operation);
  if (latency.count() > 0) {  // outside the lock
    if (cancel) {
      if (!cancel->sleep_for(latency)) throw cancelled_error(operation);
    } else {
      std::this_thread::sleep_for(latency);
    }
  }
  if (fail) {
    throw StoreError(StoreErrorKind::kUnavailable, std::string(op) + " " + describe() + "/" + key +
                                                       ": injected fault (503 SlowDown)");
  }
  return vanished;
}

PutResult FaultInjectingStore::put(const std::string& key, std::span<const uint8_t> body,
                                   const PutOptions& options) {
  return put_body(key, MemoryBody(body), options);
}

PutResult FaultInjectingStore::put_body(const std::string& key, const BodySource& body,
                                        const PutOptions& options) {
  before("PUT", key);
  PutResult result = inner_->put_body(key, body, options);
  restore(key);  // a new object replaces the vanished one
  return result;
}

GetResult FaultInjectingStore::get(const std::string& key, std::optional<ByteRange> range) {
  if (before("GET", key)) {
    throw StoreError(
        StoreErrorKind::kNotFound,
        "GET " + describe() + "/" + key + ": 404 NoSuchKey (vanished by fault injection)");
  }
  return inner_->get(key, range);
}

std::optional<ObjectInfo> FaultInjectingStore::head(const std::string& key) {
  if (before("HEAD", key)) return std::nullopt;
  return inner_->head(key);
}

std::vector<ObjectInfo> FaultInjectingStore::list(const std::string& prefix,
                                                  const std::string& start_after) {
  before("LIST", prefix);
  auto objects = inner_->list(prefix, start_after);
  base::MutexLock lock(mutex_);
  std::erase_if(objects,
                [&](const ObjectInfo& o) REQUIRES(mutex_) { return vanished_.count(o.key) > 0; });
  return objects;
}

void FaultInjectingStore::remove(const std::vector<std::string>& keys) {
  before("DELETE", keys.empty() ? "" : keys.front());
  inner_->remove(keys);
}

std::string FaultInjectingStore::describe() const {
  return inner_->describe();
}

}  // namespace ltxvfs::storage
