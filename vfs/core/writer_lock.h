// WriterLock: at most one process replicates a database at a time. An exclusive flock() on
// <db>-ltx/lock, held as long as the replicator lives; the kernel releases it when the process
// dies, even by SIGKILL. The file records the holder's pid for the error message.
#pragma once

#include <string>

#include "vfs/core/posix_file.h"

namespace ltxvfs::core {

class WriterLock {
 public:
  // Throws std::runtime_error naming the holding pid when another process holds the lock.
  // The lock file (and its directory) are created with `file_mode` (directory_mode() for the
  // directory).
  WriterLock(const std::string& path, uint32_t file_mode);

 private:
  Fd fd_;
};

}  // namespace ltxvfs::core
