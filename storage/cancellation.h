// Cancellation: lets the owner of a store make every call in flight give up at once, so that
// closing a database never waits for a store that is failing or silent.
//
// One handle is shared (StoreSettings::cancel) by the store and its owner. After cancel():
//   - an S3 transfer in flight is abandoned within about 50 ms (its connection is closed);
//   - a retry backoff wakes at once;
//   - a file store stops between chunks of a large put;
//   - every later call fails at once without touching the store.
// Each of them throws StoreError(kCancelled). A cancelled store stays cancelled, with one
// exception: its owner may reset() the handle once no call that could have seen the cancellation
// is still running (a closing writer does, to release its lease after its stages stopped).
//
// Thread-safe; cancel() may be called from any thread, any number of times.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "base/mutex.h"

namespace ltxvfs::storage {

class StoreError;

class Cancellation {
 public:
  Cancellation() = default;
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  void cancel();
  // Un-cancels. Only when every call of the store has returned and no other thread will call it
  // until the owner says so: a call still running may or may not see the reset.
  void reset();
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }
  // Sleeps for `duration`, or less when cancel() is called meanwhile. Returns true when it slept
  // the whole duration, false when it was (or already had been) cancelled.
  bool sleep_for(std::chrono::nanoseconds duration) const;

 private:
  std::atomic<bool> cancelled_{false};  // set under mutex_, read without it
  mutable base::Mutex mutex_;
  mutable std::condition_variable woken_;  // cancel() -> sleepers
};

// The error a cancelled call throws; `operation` names it ("PUT s3://bucket/key").
StoreError cancelled_error(const std::string& operation);
// Throws cancelled_error(operation) when `cancel` is set and cancelled.
void throw_if_cancelled(const Cancellation* cancel, const std::string& operation);

}  // namespace ltxvfs::storage
