// Starts a thread with a name (15 characters at most), so `top -H`, `perf` and debuggers show
// which of ltx's threads does what in the host process.
#pragma once

#include <pthread.h>

#include <thread>
#include <utility>

namespace ltxvfs::base {

template <class Body>
std::thread start_named_thread(const char* name, Body body) {
  return std::thread([name, body = std::move(body)]() mutable {
    pthread_setname_np(pthread_self(), name);
    body();
  });
}

}  // namespace ltxvfs::base
