// WriterLock: at most one process replicates a database at a time. An exclusive flock() on
// <db>-ltx/lock, held as long as the replicator lives; the kernel releases it when the process
// dies, even by SIGKILL. The file records the holder's pid for the error message.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "base/posix_file.h"

namespace ltxvfs::writer {

class WriterLock {
 public:
  // Throws std::runtime_error naming the holding pid when another process holds the lock.
  // The lock file (and its directory) are created with `file_mode` (directory_mode() for the
  // directory). Waits up to `wait` for a holder to let go (a deploy that starts the new process
  // before the old one has closed the database), then throws naming the holder.
  // `on_wait` is told once, at once, when it has to wait (the message names the holder).
  WriterLock(const std::string& path, uint32_t file_mode,
             std::chrono::milliseconds wait = std::chrono::milliseconds(0),
             const std::function<void(const std::string&)>& on_wait = {});

  // The pid the lock file named before this process took it: the previous writer of this
  // database on this host, which has exited or closed it (0 when none was recorded).
  long previous_holder() const { return previous_; }

 private:
  base::Fd fd_;
  long previous_ = 0;
};

}  // namespace ltxvfs::writer
