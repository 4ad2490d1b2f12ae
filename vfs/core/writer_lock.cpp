#include "vfs/core/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace ltxvfs::core {

WriterLock::WriterLock(const std::string& path, uint32_t file_mode) {
  make_directories(directory_of(path), file_mode);
  fd_ = create_file(path, O_RDWR, file_mode, "open writer lock");
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) throw_errno("lock", path);
    char buf[32] = {};
    ssize_t n = ::pread(fd_.get(), buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "another process";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    throw std::runtime_error(
        "this database is already replicated by process " + holder + " (" + path +
        "); only one process may write it through ltx. Open it read-only (mode=ro) or close "
        "the other process");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_.get(), 0) == 0) {
    [[maybe_unused]] ssize_t ignored = ::pwrite(fd_.get(), pid.data(), pid.size(), 0);
  }
}

}  // namespace ltxvfs::core
