#include "vfs/writer/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace ltxvfs::writer {

WriterLock::WriterLock(const std::string& path, uint32_t file_mode, std::chrono::milliseconds wait,
                       const std::function<void(const std::string&)>& on_wait) {
  base::make_directories(base::directory_of(path), file_mode);
  fd_ = base::create_file(path, O_RDWR, file_mode, "open writer lock");
  const auto deadline = std::chrono::steady_clock::now() + wait;
  bool told = false;
  while (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) base::throw_errno("lock", path);
    if (std::chrono::steady_clock::now() < deadline) {
      if (!told && on_wait) {
        on_wait("this database is replicated by another process of this host (" + path +
                "); waiting up to " + std::to_string(wait.count()) +
                " ms (lease_wait_ms) for it to close");
        told = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    char buf[32] = {};
    ssize_t n = ::pread(fd_.get(), buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "another process";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    throw std::runtime_error(
        "this database is already replicated by process " + holder + " (" + path +
        "); only one process may write it through ltx. Open it read-only (mode=ro), close "
        "the other process, or wait for it longer (lease_wait_ms)");
  }
  char previous[32] = {};
  if (::pread(fd_.get(), previous, sizeof previous - 1, 0) > 0) {
    previous_ = std::strtol(previous, nullptr, 10);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_.get(), 0) == 0) {
    [[maybe_unused]] ssize_t ignored = ::pwrite(fd_.get(), pid.data(), pid.size(), 0);
  }
}

}  // namespace ltxvfs::writer
