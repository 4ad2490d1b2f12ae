#include "vfs/shim/base_vfs_file_access.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "vfs/shim/log.h"

namespace ltxvfs::vfs {

BaseVfsFileAccess::BaseVfsFileAccess(sqlite3_vfs* base, const std::string& db_path,
                                     std::shared_ptr<LentDbFiles> lent)
    : base_(base), db_path_(db_path), wal_path_(db_path + "-wal"), lent_(std::move(lent)) {}

BaseVfsFileAccess::~BaseVfsFileAccess() {
  base::MutexLock lock(own_mu_);
  if (own_db_ != nullptr) {
    if (own_db_->pMethods != nullptr) own_db_->pMethods->xClose(own_db_);
    std::free(own_db_);
  }
}

template <class Call>
void BaseVfsFileAccess::with_db(Call&& call) {
  if (lent_->with_any(call)) return;
  base::MutexLock lock(own_mu_);
  if (own_db_ == nullptr) {
    auto* file = static_cast<sqlite3_file*>(std::calloc(1, static_cast<size_t>(base_->szOsFile)));
    if (file == nullptr) throw SqliteError(SQLITE_NOMEM, "out of memory");
    int out_flags = 0;
    // The name must outlive the file object and be in SQLite's filename format (the path
    // followed by two NULs at least): a database-less open of our own reading handle.
    const int rc = base_->xOpen(base_, db_path_.c_str(), file,
                                SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB, &out_flags);
    if (rc != SQLITE_OK) {
      if (file->pMethods != nullptr) file->pMethods->xClose(file);
      std::free(file);
      throw SqliteError(SQLITE_CANTOPEN, "cannot open " + db_path_ + " for replication");
    }
    own_db_ = file;
  }
  call(own_db_);
}

size_t BaseVfsFileAccess::read_db(uint64_t offset, std::span<uint8_t> out) {
  int size_rc = SQLITE_OK;
  int rc = SQLITE_OK;
  size_t n = 0;
  with_db([&](sqlite3_file* db) {
    sqlite3_int64 size = 0;
    size_rc = db->pMethods->xFileSize(db, &size);
    if (size_rc != SQLITE_OK || offset >= static_cast<uint64_t>(size)) return;
    n = static_cast<size_t>(std::min<uint64_t>(out.size(), static_cast<uint64_t>(size) - offset));
    rc = db->pMethods->xRead(db, out.data(), static_cast<int>(n),
                             static_cast<sqlite3_int64>(offset));
  });
  if (size_rc != SQLITE_OK) throw SqliteError(SQLITE_IOERR_FSTAT, "cannot size " + db_path_);
  if (rc == SQLITE_IOERR_SHORT_READ || rc == SQLITE_OK) return n;
  throw SqliteError(SQLITE_IOERR_READ, "cannot read " + db_path_);
}

uint64_t BaseVfsFileAccess::db_size() {
  sqlite3_int64 size = 0;
  int rc = SQLITE_OK;
  with_db([&](sqlite3_file* db) { rc = db->pMethods->xFileSize(db, &size); });
  if (rc != SQLITE_OK) throw SqliteError(SQLITE_IOERR_FSTAT, "cannot size " + db_path_);
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
