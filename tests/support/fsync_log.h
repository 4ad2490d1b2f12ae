// FsyncLog: which files and directories this process fsyncs. A test binary linked with
// fsync_log.cpp defines fsync() and fdatasync() itself, so every call the code under test makes
// (statically linked: base::fsync_path, the spool's fdatasync) lands there first; each records
// the descriptor's path while a log is open, then goes to the kernel as before. Durability that
// depends on an fsync of a directory cannot be seen any other way without a power cut. It also
// defines sync_file_range(), logged as "writeback PATH": when writeback started is seen no other
// way.
#pragma once

#include <string>
#include <vector>

namespace ltxvfs::testing {

class FsyncLog {
 public:
  FsyncLog();  // one at a time
  ~FsyncLog();
  FsyncLog(const FsyncLog&) = delete;
  FsyncLog& operator=(const FsyncLog&) = delete;

  // The paths synced since the log opened or was cleared, in order ("fdatasync ", "fsync " or
  // "writeback " before each, then the path as /proc/self/fd names it).
  std::vector<std::string> calls() const;
  // Whether `path` (canonical) was fsynced or fdatasynced.
  bool synced(const std::string& path) const;
  void clear();
};

}  // namespace ltxvfs::testing
