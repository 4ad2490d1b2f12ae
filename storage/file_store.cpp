// FileStore's construction, key checks and errors, the lock, and the small calls (HEAD, DELETE).
// PUT is in file_store_put.cpp, GET in file_store_get.cpp, LIST in file_store_list.cpp; the
// POSIX steps they share in file_store_io.cpp.
#include "storage/file_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <vector>

#include "base/posix_file.h"
#include "storage/cancellation.h"
#include "storage/file_store_io.h"
#include "storage/validation.h"

namespace ltxvfs::storage {

using base::Fd;
using namespace file_io;

FileStore::Lock::Lock(const FileStore& store, int operation) {
  const std::string path = store.root_ + "/" + kLockName;
  fd_ = Fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd_ && errno == ENOENT) {
    // Whoever creates the lock file gives it the store's mode (a file that exists keeps its
    // own: it may have been made by a writer with another configuration).
    fd_ = Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, store.file_mode_));
    if (fd_) {
      if (::fchmod(fd_.get(), store.file_mode_) != 0) {
        store.fail_errno("LOCK", "", "cannot set the mode of lock file " + path, errno);
      }
    } else if (errno == EEXIST) {
      fd_ = Fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    }
  }
  if (!fd_) store.fail_errno("LOCK", "", "cannot open lock file " + path, errno);
  while (::flock(fd_.get(), operation) != 0) {
    if (errno != EINTR) store.fail_errno("LOCK", "", "cannot lock " + path, errno);
  }
}

FileStore::FileStore(const std::string& root_dir, FileStoreOptions options)
    : stats_(options.stats ? options.stats : std::make_shared<StoreStats>()),
      cancel_(std::move(options.cancel)),
      file_mode_(options.file_mode),
      dir_mode_(static_cast<mode_t>(base::directory_mode(options.file_mode))) {
  if (root_dir.empty()) {
    throw StoreError(StoreErrorKind::kInvalidArgument, "file store: empty directory path");
  }
  if ((options.file_mode & ~mode_t{0777}) != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%o", static_cast<unsigned>(options.file_mode));
    throw StoreError(StoreErrorKind::kInvalidArgument,
                     "file store " + root_dir + ": file mode 0" + buf +
                         " has bits beyond the permission bits — give a mode in 0000..0777");
  }
  std::error_code ec;
  auto absolute = std::filesystem::absolute(root_dir, ec);
  root_ = ec ? root_dir : absolute.lexically_normal().string();
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();

  struct stat st {};
  if (::stat(root_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      throw StoreError(StoreErrorKind::kInvalidArgument,
                       describe() + " is not a directory — name a directory for the replica");
    }
    return;
  }
  if (errno != ENOENT || !options.create_if_missing) {
    if (errno == ENOENT) {
      throw StoreError(StoreErrorKind::kNoSuchBucket,
                       describe() +
                           ": replica directory does not exist — check the path, or "
                           "let the writer create it");
    }
    fail_errno("OPEN", "", "cannot access the replica directory", errno);
  }
  // Not synced yet: an empty directory need not survive a crash. The first durable put syncs it
  // (sync_unsynced_dirs), so an open whose first write is the lease fsyncs nothing here.
  base::MutexLock lock(unsynced_mu_);
  if (int err = ensure_dirs(root_, dir_mode_, /*durable=*/false, &unsynced_dirs_)) {
    fail_errno("OPEN", "", "cannot create the replica directory", err);
  }
}

void FileStore::sync_unsynced_dirs(const std::string& operation) {
  base::MutexLock lock(unsynced_mu_);
  while (!unsynced_dirs_.empty()) {
    const std::string& dir = unsynced_dirs_.back();
    if (int err = file_io::fsync_dir(dir)) {
      throw_errno(operation, "cannot fsync " + dir, err);
    }
    unsynced_dirs_.pop_back();
  }
}

std::string FileStore::describe() const {
  return "file://" + root_;
}

std::string FileStore::path_of(const std::string& key) const {
  return root_ + "/" + key;
}

std::string FileStore::sidecar_of(const std::string& key) const {
  return root_ + "/" + kMetaDir + "/" + key;
}

void FileStore::check_key(const std::string& op, const std::string& key) const {
  const std::string context = op + " " + describe() + "/" + key;
  validate_key(key, context);
  size_t i = 0;
  while (i <= key.size()) {
    size_t j = key.find('/', i);
    if (j == std::string::npos) j = key.size();
    const std::string_view segment(key.data() + i, j - i);
    if (segment.empty() || segment == "." || segment == "..") {
      throw StoreError(StoreErrorKind::kInvalidArgument,
                       context + ": a file store key cannot have empty, '.' or '..' segments");
    }
    if (is_reserved(segment)) {
      throw StoreError(StoreErrorKind::kInvalidArgument,
                       context + ": names starting with \".ltxvfs\" are reserved by the store");
    }
    i = j + 1;
  }
}

void FileStore::fail_errno(const std::string& op, const std::string& key, const std::string& what,
                           int err) const {
  throw_errno(op + " " + describe() + (key.empty() ? "" : "/" + key), what, err);
}

std::optional<ObjectInfo> FileStore::head(const std::string& key) {
  return counted(*stats_, [&]() -> std::optional<ObjectInfo> {
    StoreStats::add(stats_->requests);
    StoreStats::add(stats_->heads);
    check_key("HEAD", key);
    throw_if_cancelled(cancel_.get(), "HEAD " + describe() + "/" + key);
    struct stat st {};
    if (::stat(path_of(key).c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
      fail_errno("HEAD", key, "cannot stat", errno);
    }
    if (!S_ISREG(st.st_mode)) return std::nullopt;
    return ObjectInfo{key, static_cast<uint64_t>(st.st_size), etag_of(st), mtime_ms(st)};
  });
}

void FileStore::remove(const std::vector<std::string>& keys) {
  counted(*stats_, [&] {
    StoreStats::add(stats_->requests);
    StoreStats::add(stats_->deletes);
    for (const auto& key : keys) check_key("DELETE", key);
    throw_if_cancelled(cancel_.get(), "DELETE " + describe());
    Lock lock(*this, LOCK_EX);
    std::vector<std::string> dirs;
    for (const auto& key : keys) {
      // A batch can be long (1,000 unlinks): a cancelled close does not wait for the rest of
      // it (any subset of a deletion is as good as the whole to its caller, who retries later).
      if (cancel_ && cancel_->cancelled())
        throw cancelled_error("DELETE " + describe() + "/" + key);
      const std::string path = path_of(key);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
        fail_errno("DELETE", key, "cannot delete", errno);
      }
      ::unlink(sidecar_of(key).c_str());
      dirs.push_back(dirname_of(path));
    }
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    for (const auto& dir : dirs) fsync_dir(dir);  // best effort: a lost delete is retried later
  });
}

}  // namespace ltxvfs::storage
