#include "vfs/shim/base_vfs_file_access.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>

#include "vfs/shim/log.h"

namespace ltxvfs::vfs {

BaseVfsFileAccess::BaseVfsFileAccess(sqlite3_vfs* base, const std::string& db_path)
    : base_(base), db_path_(db_path), wal_path_(db_path + "-wal") {
  db_ = static_cast<sqlite3_file*>(std::calloc(1, static_cast<size_t>(base->szOsFile)));
  if (db_ == nullptr) throw SqliteError(SQLITE_NOMEM, "out of memory");
  int out_flags = 0;
  // The name must outlive the file object and be in SQLite's filename format (the path followed
  // by two NULs at least): a database-less open of our own reading handle.
  int rc = base_->xOpen(base_, db_path_.c_str(), db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB,
                        &out_flags);
  if (rc != SQLITE_OK) {
    if (db_->pMethods != nullptr) db_->pMethods->xClose(db_);
    std::free(db_);
    db_ = nullptr;
    throw SqliteError(SQLITE_CANTOPEN, "cannot open " + db_path_ + " for replication");
  }
}

BaseVfsFileAccess::~BaseVfsFileAccess() {
  if (db_ != nullptr) {
    if (db_->pMethods != nullptr) db_->pMethods->xClose(db_);
    std::free(db_);
  }
}

size_t BaseVfsFileAccess::read_db(uint64_t offset, std::span<uint8_t> out) {
  sqlite3_int64 size = 0;
  if (db_->pMethods->xFileSize(db_, &size) != SQLITE_OK) {
    throw SqliteError(SQLITE_IOERR_FSTAT, "cannot size " + db_path_);
  }
  if (offset >= static_cast<uint64_t>(size)) return 0;
  const size_t n =
      static_cast<size_t>(std::min<uint64_t>(out.size(), static_cast<uint64_t>(size) - offset));
  int rc = db_->pMethods->xRead(db_, out.data(), static_cast<int>(n),
                                static_cast<sqlite3_int64>(offset));
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
    throw SqliteError(SQLITE_IOERR_READ, "cannot read " + db_path_);
  }
  return n;
}

uint64_t BaseVfsFileAccess::db_size() {
  sqlite3_int64 size = 0;
  if (db_->pMethods->xFileSize(db_, &size) != SQLITE_OK) {
    throw SqliteError(SQLITE_IOERR_FSTAT, "cannot size " + db_path_);
  }
  return static_cast<uint64_t>(size);
}

bool BaseVfsFileAccess::wal_is_current() {
  struct stat st {};
  if (::stat(wal_path_.c_str(), &st) != 0) {
    wal_ = base::Fd();
    return false;
  }
  if (wal_ && static_cast<uint64_t>(st.st_dev) == wal_dev_ &&
      static_cast<uint64_t>(st.st_ino) == wal_ino_) {
    return true;
  }
  wal_ = base::Fd(::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!wal_) return false;
  struct stat fst {};
  if (::fstat(wal_.get(), &fst) != 0) {
    wal_ = base::Fd();
    return false;
  }
  wal_dev_ = static_cast<uint64_t>(fst.st_dev);
  wal_ino_ = static_cast<uint64_t>(fst.st_ino);
  return true;
}

void BaseVfsFileAccess::refresh() {
  base::MutexLock lock(wal_mu_);
  wal_open_ = wal_is_current();
  released_ = false;
}

void BaseVfsFileAccess::release_idle() {
  base::MutexLock lock(wal_mu_);
  wal_ = base::Fd();
  wal_open_ = false;
  released_ = true;
}

size_t BaseVfsFileAccess::read_wal(uint64_t offset, std::span<uint8_t> out) {
  base::MutexLock lock(wal_mu_);
  if (released_) {  // a read without a refresh() since the release: as a refresh would see it
    wal_open_ = wal_is_current();
    released_ = false;
  }
  if (!wal_open_) return 0;
  return base::pread_full(wal_.get(), offset, out, wal_path_);
}

}  // namespace ltxvfs::vfs
