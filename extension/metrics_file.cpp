#include "extension/metrics_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/scheduler.h"
#include "extension/metrics_text.h"
#include "history/history_policy.h"
#include "vfs/shim/log.h"
#include "vfs/shim/open_databases.h"

namespace ltxvfs::extension {
namespace {

constexpr int64_t kDefaultIntervalMs = 15'000;  // node_exporter's default scrape interval

// Writes `text` to `path` through a temporary file and a rename; returns errno (0: written).
int write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return err;
  }
  return 0;
}

}  // namespace

bool start_metrics_file_from_env(std::string& message) {
  static std::atomic<bool> started{false};
  const char* file = std::getenv("LTX_METRICS_FILE");
  if (file == nullptr || *file == '\0' || started.exchange(true)) return true;
  int64_t interval_ms = kDefaultIntervalMs;
  if (const char* v = std::getenv("LTX_METRICS_INTERVAL"); v != nullptr && *v != '\0') {
    try {
      interval_ms = history::parse_duration_ms("LTX_METRICS_INTERVAL", v);
    } catch (const std::exception& e) {
      started = false;
      message = e.what();
      return false;
    }
  }
  const std::string path = file;
  const auto interval = std::chrono::milliseconds(interval_ms);
  auto last_error = std::make_shared<int>(0);
  base::Scheduler::process().add(base::Scheduler::Clock::now(), [=] {
    const int err =
        write_atomically(path, prometheus_text(vfs::OpenDatabases::process().collect()));
    if (err != 0 && err != *last_error) {
      vfs::log_at(vfs::LogLevel::kWarn,
                  "LTX_METRICS_FILE: cannot write %s: %s (retrying every %lld ms; check the "
                  "directory exists and is writable)",
                  path.c_str(), std::strerror(err), static_cast<long long>(interval_ms));
    }
    *last_error = err;
    return base::Scheduler::Clock::now() + interval;
  });
  return true;
}

}  // namespace ltxvfs::extension
