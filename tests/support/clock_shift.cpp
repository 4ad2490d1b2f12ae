// An LD_PRELOAD library that moves the process's wall clock by LTXVFS_CLOCK_SHIFT_MS
// milliseconds (issue 16: a writer whose clock runs ahead of the others). It wraps the calls a
// C++ program reaches the wall clock through — clock_gettime for the realtime clocks (which
// std::chrono::system_clock uses), gettimeofday and time — and leaves the monotonic clocks alone,
// as a host with a wrong time of day has them.
#include <dlfcn.h>
#include <sys/time.h>
#include <time.h>

#include <cstdint>
#include <cstdlib>

namespace {

int64_t shift_ms() {
  static const int64_t shift = [] {
    const char* text = std::getenv("LTXVFS_CLOCK_SHIFT_MS");
    return text ? std::strtoll(text, nullptr, 10) : 0;
  }();
  return shift;
}

using ClockGettime = int (*)(clockid_t, struct timespec*);

ClockGettime real_clock_gettime() {
  static const auto real = reinterpret_cast<ClockGettime>(dlsym(RTLD_NEXT, "clock_gettime"));
  return real;
}

void shift(struct timespec* ts) {
  const int64_t ns =
      static_cast<int64_t>(ts->tv_sec) * 1'000'000'000 + ts->tv_nsec + shift_ms() * 1'000'000;
  ts->tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts->tv_nsec = static_cast<long>(ns % 1'000'000'000);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int clock_gettime(clockid_t clock,
                                                         struct timespec* ts) noexcept {
  const int rc = real_clock_gettime()(clock, ts);
  if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
    shift(ts);
  }
  return rc;
}

__attribute__((visibility("default"))) int gettimeofday(struct timeval* tv, void*) noexcept {
  struct timespec ts {};
  const int rc = clock_gettime(CLOCK_REALTIME, &ts);
  if (rc == 0) {
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return rc;
}

__attribute__((visibility("default"))) time_t time(time_t* out) noexcept {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out != nullptr) *out = ts.tv_sec;
  return ts.tv_sec;
}

}  // extern "C"
