// Mutex and MutexLock: std::mutex and a scoped lock that clang's thread-safety analysis
// understands (libstdc++'s own types carry no annotations, so GUARDED_BY(a std::mutex) checks
// nothing). MutexLock also waits on a std::condition_variable; a wait's predicate is a lambda
// that touches guarded members, so it is written `[&]() REQUIRES(mu_) { ... }`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/thread_annotations.h"

#if defined(__SANITIZE_THREAD__)
#define LTXVFS_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LTXVFS_THREAD_SANITIZER 1
#endif
#endif
#ifdef LTXVFS_THREAD_SANITIZER
#include <pthread.h>
#endif

namespace ltxvfs::base {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
#ifdef LTXVFS_THREAD_SANITIZER
  // libstdc++'s std::mutex has a trivial destructor, so ThreadSanitizer never hears that a mutex
  // is gone. A later one at the same address (an object on the stack of another test) inherits
  // its lock-order history, and two objects' correct but different orders make a false
  // "lock-order inversion" (seen: one Replica's plan_mu_ then mu_, another's plan_mu_ then its
  // BadObjects' lock, at overlapping stack addresses). Heap memory is forgotten on free.
  ~Mutex() {
    pthread_mutex_destroy(mu_.native_handle());
  }
#endif
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() {
    mu_.lock();
  }
  void unlock() RELEASE() {
    mu_.unlock();
  }
  bool try_lock() TRY_ACQUIRE(true) {
    return mu_.try_lock();
  }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds `mu` from construction to destruction (or between unlock() and lock() in the middle).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() RELEASE() { lock_.unlock(); }
  void lock() ACQUIRE() { lock_.lock(); }

  // std::condition_variable's waits, with this lock held before and after.
  template <class Predicate>
  void wait(std::condition_variable& cv, Predicate ready) {
    cv.wait(lock_, std::move(ready));
  }
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::condition_variable& cv, std::chrono::duration<Rep, Period> timeout,
                Predicate ready) {
    return cv.wait_for(lock_, timeout, std::move(ready));
  }
  // One wait, however it ends (a notification, the deadline, or spuriously): callers that look
  // at their state between short waits (BatchPacing's polling).
  template <class Clock, class Duration>
  void wait_until(std::condition_variable& cv, std::chrono::time_point<Clock, Duration> deadline) {
    cv.wait_until(lock_, deadline);
  }
  template <class Clock, class Duration, class Predicate>
  bool wait_until(std::condition_variable& cv, std::chrono::time_point<Clock, Duration> deadline,
                  Predicate ready) {
    return cv.wait_until(lock_, deadline, std::move(ready));
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace ltxvfs::base
