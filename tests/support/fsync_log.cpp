// fsync() and fdatasync() for a test binary: record, then the system call (fsync_log.h).
#include "tests/support/fsync_log.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

std::atomic<bool> g_open{false};
std::mutex g_mu;
std::vector<std::string> g_calls;  // guarded by g_mu

void record(const char* kind, int fd) {
  if (!g_open.load(std::memory_order_acquire)) return;
  char link[64], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, target, sizeof target - 1);
  const std::string path = n > 0 ? std::string(target, static_cast<size_t>(n)) : "?";
  std::lock_guard lock(g_mu);
  g_calls.push_back(std::string(kind) + " " + path);
}

}  // namespace

extern "C" int fsync(int fd) {
  record("fsync", fd);
  return static_cast<int>(::syscall(SYS_fsync, fd));
}

extern "C" int fdatasync(int fd) {
  record("fdatasync", fd);
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}

// Writeback started early (base::start_writeback) is logged as "writeback PATH".
extern "C" int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags) {
  record("writeback", fd);
  return static_cast<int>(::syscall(SYS_sync_file_range, fd, offset, nbytes, flags));
}

namespace ltxvfs::testing {

FsyncLog::FsyncLog() {
  if (g_open.exchange(true)) std::abort();  // one at a time
  clear();
}

FsyncLog::~FsyncLog() {
  g_open.store(false, std::memory_order_release);
}

std::vector<std::string> FsyncLog::calls() const {
  std::lock_guard lock(g_mu);
  return g_calls;
}

bool FsyncLog::synced(const std::string& path) const {
  const auto calls = this->calls();
  return std::any_of(calls.begin(), calls.end(), [&](const std::string& c) {
    return c == "fsync " + path || c == "fdatasync " + path;
  });
}

void FsyncLog::clear() {
  std::lock_guard lock(g_mu);
  g_calls.clear();
}

}  // namespace ltxvfs::testing
