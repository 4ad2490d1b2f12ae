// FileAccess: how the replication core reads the database and its WAL. The shim implements it over
// files opened through SQLite's default VFS (so closing them never drops SQLite's POSIX locks);
// tests implement it over plain files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ltxvfs::writer {

class FileAccess {
 public:
  virtual ~FileAccess() = default;
  // Read up to out.size() bytes at offset; return the count (short only at end of file).
  virtual size_t read_db(uint64_t offset, std::span<uint8_t> out) = 0;
  virtual uint64_t db_size() = 0;
  // The -wal file; returns 0 when it does not exist.
  virtual size_t read_wal(uint64_t offset, std::span<uint8_t> out) = 0;
  // Called at the start of each builder job: notice whether SQLite replaced the WAL file (deleted
  // at the last close, created anew). Between calls, reads use the same file.
  virtual void refresh() {}
  // The builder went idle: close what the next refresh() opens again (the WAL's descriptor), so
  // an idle database holds no descriptor for it (issue 18). A read before that refresh opens it.
  virtual void release_idle() {}
};

}  // namespace ltxvfs::writer
