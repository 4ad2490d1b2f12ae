// eventually(): the base tests' bounded wait for a condition another thread brings about. Bounded
// (10 s, far longer than any of them needs) so that a lost wake-up fails the test instead of
// hanging it; no timing is asserted.
#pragma once

#include <chrono>
#include <thread>

namespace ltxvfs::testing {

template <class Done>
bool eventually(Done done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace ltxvfs::testing
