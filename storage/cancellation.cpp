#include "storage/cancellation.h"

#include "storage/object_store.h"

namespace ltxvfs::storage {

void Cancellation::cancel() {
  {
    // Under the mutex, so a sleeper cannot check the flag, miss the store and then wait.
    base::MutexLock lock(mutex_);
    cancelled_.store(true, std::memory_order_release);
  }
  woken_.notify_all();
}

void Cancellation::reset() {
  base::MutexLock lock(mutex_);
  cancelled_.store(false, std::memory_order_release);
}

bool Cancellation::sleep_for(std::chrono::nanoseconds duration) const {
  base::MutexLock lock(mutex_);
  return !lock.wait_for(woken_, duration, [this] { return cancelled(); });
}

StoreError cancelled_error(const std::string& operation) {
  return StoreError(StoreErrorKind::kCancelled,
                    operation +
                        ": the operation was cancelled because the caller is closing (a write "
                        "in flight may or may not have reached the store)");
}

void throw_if_cancelled(const Cancellation* cancel, const std::string& operation) {
  if (cancel != nullptr && cancel->cancelled()) throw cancelled_error(operation);
}

}  // namespace ltxvfs::storage
