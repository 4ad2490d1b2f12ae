#include "storage/file_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <system_error>
#include <vector>

#include "base/posix_file.h"
#include "storage/cancellation.h"
#include "storage/validation.h"

namespace ltxvfs::storage {
namespace {

constexpr const char* kReservedPrefix = ".ltxvfs";
constexpr const char* kLockName = ".ltxvfs-lock";
constexpr const char* kMetaDir = ".ltxvfs-meta";
constexpr const char* kTempPrefix = ".ltxvfs-tmp-";

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

bool is_reserved(std::string_view name) {
  return name.rfind(kReservedPrefix, 0) == 0;
}

using base::Fd;

// Removes a temporary file unless it was published.
class TempFile {
 public:
  TempFile() = default;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  void set(std::string path) { path_ = std::move(path); }
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

std::string dirname_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string etag_of(const struct stat& st) {
  const auto mtime_ns = static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1'000'000'000ULL +
                        static_cast<unsigned long long>(st.st_mtim.tv_nsec);
  char buf[96];
  std::snprintf(buf, sizeof buf, "\"%llx-%llx-%llx\"", static_cast<unsigned long long>(st.st_ino),
                static_cast<unsigned long long>(st.st_size), mtime_ns);
  return buf;
}

int64_t mtime_ms(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

int fsync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno;
  if (::fsync(fd.get()) != 0) return errno;
  return 0;
}

// mkdir with exactly `mode`: mkdir applies the umask, so the bits are set again afterwards. The
// directory is never more open than `mode` in between (the umask only removes bits).
int make_dir(const std::string& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0) return errno;
  if (::chmod(dir.c_str(), mode) != 0) return errno;
  return 0;
}

// mkdir -p with `mode` for each directory it creates (existing ones are left as they are),
// fsyncing each parent that gained an entry so the new directories survive a crash.
int ensure_dirs(const std::string& dir, mode_t mode) {
  int err = make_dir(dir, mode);
  if (err == 0) return fsync_dir(dirname_of(dir));
  if (err == EEXIST) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  }
  if (err != ENOENT || dir == "/") return err;
  if (int parent_err = ensure_dirs(dirname_of(dir), mode)) return parent_err;
  err = make_dir(dir, mode);
  if (err != 0 && err != EEXIST) return err;
  return fsync_dir(dirname_of(dir));
}

int write_all(int fd, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

std::string unique_temp_name() {
  // O_EXCL makes collisions harmless (the caller retries); randomness only makes them rare.
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) | rd();
  char buf[80];
  std::snprintf(buf, sizeof buf, "%s%d-%016llx", kTempPrefix, static_cast<int>(::getpid()),
                static_cast<unsigned long long>(r));
  return buf;
}

// Creates a new file in `dir` with exactly `mode`, holding `body`, fsynced. Copies the body in
// chunks (memory stays bounded however large it is) and looks at `cancel` between them. Returns
// errno or 0; throws the body's own StoreError when it cannot be read, and kCancelled.
int write_temp(const std::string& dir, const BodySource& body, mode_t mode,
               const Cancellation* cancel, const std::string& operation, TempFile& temp,
               struct stat* st) {
  constexpr uint64_t kChunk = 256 << 10;  // small: it runs inside the writing process
  Fd fd;
  for (int attempt = 0; attempt < 8 && !fd; ++attempt) {
    std::string path = dir + "/" + unique_temp_name();
    fd = Fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (fd)
      temp.set(path);
    else if (errno != EEXIST)
      return errno;
  }
  if (!fd) return EEXIST;
  // open() applied the umask; the file gets exactly `mode` (it was never more open than that).
  if (::fchmod(fd.get(), mode) != 0) return errno;
  std::vector<uint8_t> buffer(static_cast<size_t>(std::min<uint64_t>(kChunk, body.size())));
  for (uint64_t offset = 0; offset < body.size(); offset += buffer.size()) {
    throw_if_cancelled(cancel, operation);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), body.size() - offset));
    body.read_at(offset, {buffer.data(), n});
    if (int err = write_all(fd.get(), {buffer.data(), n})) return err;
  }
  // The kernel stamps mtime from a coarse clock (one tick, ~4 ms), and a freed inode number can
  // be reused at once, so two quick puts of equal size could get the same etag. A precise mtime
  // set here makes every version's (inode, size, mtime) distinct.
  struct timespec times[2] = {{0, UTIME_OMIT}, {0, 0}};
  ::clock_gettime(CLOCK_REALTIME, &times[1]);
  if (::futimens(fd.get(), times) != 0) return errno;
  if (::fsync(fd.get()) != 0) return errno;
  if (st && ::fstat(fd.get(), st) != 0) return errno;
  return 0;
}

StoreErrorKind kind_for_errno(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return StoreErrorKind::kAccessDenied;
    case ENOENT:
      return StoreErrorKind::kNotFound;
    default:
      return StoreErrorKind::kIo;
  }
}

std::string hint_for_errno(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
      return " — check the permissions of the replica directory";
    case EROFS:
      return " — the replica directory is on a read-only file system";
    case ENOSPC:
    case EDQUOT:
      return " — free some disk space (or quota) for the replica directory";
    default:
      return "";
  }
}

// Counts a failure when a public operation ends in a StoreError.
template <typename F>
auto counted(StoreStats& stats, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const StoreError&) {
    StoreStats::add(stats.failures);
    throw;
  }
}

}  // namespace

// An flock() on <root>/.ltxvfs-lock, held for the object's lifetime. Each Lock opens its own
// descriptor: flock locks belong to the open file description, so two threads of one process
// exclude each other just as two processes do.
class FileStore::Lock {
 public:
  Lock(const FileStore& store, int operation) {
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

 private:
  Fd fd_;
};

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
  if (int err = ensure_dirs(root_, dir_mode_)) {
    fail_errno("OPEN", "", "cannot create the replica directory", err);
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
  throw StoreError(kind_for_errno(err), op + " " + describe() + (key.empty() ? "" : "/" + key) +
                                            ": " + what + ": " + errno_text(err) +
                                            hint_for_errno(err));
}

PutResult FileStore::put(const std::string& key, std::span<const uint8_t> body,
                         const PutOptions& options) {
  return put_body(key, MemoryBody(body), options);
}

PutResult FileStore::put_body(const std::string& key, const BodySource& body,
                              const PutOptions& options) {
  return counted(*stats_, [&] {
    StoreStats::add(stats_->requests);
    StoreStats::add(stats_->puts);
    check_key("PUT", key);
    const std::string operation = "PUT " + describe() + "/" + key;
    throw_if_cancelled(cancel_.get(), operation);
    validate_metadata(options.metadata, "PUT " + describe() + "/" + key);

    const std::string path = path_of(key);
    const std::string dir = dirname_of(path);
    if (int err = ensure_dirs(dir, dir_mode_)) {
      fail_errno("PUT", key, "cannot create directory " + dir, err);
    }
    TempFile object_temp;
    struct stat st {};
    if (int err = write_temp(dir, body, file_mode_, cancel_.get(), operation, object_temp, &st)) {
      fail_errno("PUT", key, "cannot write a temporary file in " + dir, err);
    }
    const std::string etag = etag_of(st);

    const std::string sidecar = sidecar_of(key);
    const std::string sidecar_dir = dirname_of(sidecar);
    nlohmann::json meta = {{"etag", etag}, {"metadata", options.metadata}};
    const std::string meta_text = meta.dump();
    TempFile sidecar_temp;
    if (int err = ensure_dirs(sidecar_dir, dir_mode_)) {
      fail_errno("PUT", key, "cannot create directory " + sidecar_dir, err);
    }
    const MemoryBody meta_body(
        {reinterpret_cast<const uint8_t*>(meta_text.data()), meta_text.size()});
    if (int err = write_temp(sidecar_dir, meta_body, file_mode_, nullptr, operation, sidecar_temp,
                             nullptr)) {
      fail_errno("PUT", key, "cannot write metadata in " + sidecar_dir, err);
    }

    // Past this point the put completes: cancelling between publishing the object and its
    // metadata would leave the object without it.
    Lock lock(*this, LOCK_EX);
    if (options.if_none_match) {
      // link() fails if the name exists: the check and the publish are one atomic step.
      if (::link(object_temp.path().c_str(), path.c_str()) != 0) {
        if (errno == EEXIST) {
          throw StoreError(
              StoreErrorKind::kPreconditionFailed,
              "PUT " + describe() + "/" + key +
                  ": 412 PreconditionFailed: the object already exists (If-None-Match)");
        }
        fail_errno("PUT", key, "cannot publish the object", errno);
      }
      ::unlink(object_temp.path().c_str());
      object_temp.release();
    } else {
      if (options.if_match) {
        struct stat current {};
        if (::stat(path.c_str(), &current) != 0) {
          if (errno == ENOENT) {
            throw StoreError(StoreErrorKind::kNotFound,
                             "PUT " + describe() + "/" + key +
                                 ": 404 NoSuchKey: If-Match given but the object does not exist");
          }
          fail_errno("PUT", key, "cannot stat the object", errno);
        }
        if (etag_of(current) != *options.if_match) {
          throw StoreError(StoreErrorKind::kPreconditionFailed,
                           "PUT " + describe() + "/" + key +
                               ": 412 PreconditionFailed: the object's etag is " +
                               etag_of(current) + ", not " + *options.if_match + " (If-Match)");
        }
      }
      if (::rename(object_temp.path().c_str(), path.c_str()) != 0) {
        fail_errno("PUT", key, "cannot publish the object", errno);
      }
      object_temp.release();
    }
    if (::rename(sidecar_temp.path().c_str(), sidecar.c_str()) != 0) {
      fail_errno("PUT", key, "cannot publish metadata", errno);
    }
    sidecar_temp.release();
    if (int err = fsync_dir(dir)) fail_errno("PUT", key, "cannot fsync " + dir, err);
    if (int err = fsync_dir(sidecar_dir))
      fail_errno("PUT", key, "cannot fsync " + sidecar_dir, err);
    StoreStats::add(stats_->bytes_sent, body.size());
    return PutResult{etag};
  });
}

GetResult FileStore::read_object(const std::string& key, const std::optional<ByteRange>& range,
                                 bool* metadata_consistent) const {
  const std::string path = path_of(key);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  int err = 0;
  if (!fd || ::fstat(fd.get(), &st) != 0)
    err = errno;
  else if (!S_ISREG(st.st_mode))
    err = ENOENT;  // a directory is not an object
  if (err == ENOENT || err == ENOTDIR) {
    struct stat root_st {};
    if (::stat(root_.c_str(), &root_st) != 0) {
      throw StoreError(StoreErrorKind::kNoSuchBucket,
                       "GET " + describe() + "/" + key +
                           ": the replica directory does not exist — check the path");
    }
    throw StoreError(StoreErrorKind::kNotFound,
                     "GET " + describe() + "/" + key + ": 404 NoSuchKey: no such object");
  }
  if (err != 0) fail_errno("GET", key, "cannot open", err);

  GetResult result;
  result.object_size = static_cast<uint64_t>(st.st_size);
  result.etag = etag_of(st);
  result.last_modified_ms = mtime_ms(st);

  uint64_t begin = 0;
  uint64_t end = result.object_size;
  if (range) {
    auto invalid_range = [&] {
      throw StoreError(StoreErrorKind::kInvalidRange,
                       "GET " + describe() + "/" + key + ": 416 InvalidRange: range " +
                           (range->suffix ? "last " + std::to_string(range->length) + " bytes"
                                          : "offset " + std::to_string(range->offset)) +
                           " is outside the object of " + std::to_string(result.object_size) +
                           " bytes");
    };
    if (range->suffix) {
      // As HTTP "bytes=-N": N = 0 selects nothing and is unsatisfiable.
      if (range->length == 0) invalid_range();
      begin = end - std::min(range->length, end);
    } else {
      // Starting past the end is unsatisfiable even for an empty range (as S3Store answers);
      // an empty range exactly at the end is the empty tail.
      if (range->offset > result.object_size ||
          (range->offset == result.object_size && range->length > 0)) {
        invalid_range();
      }
      begin = std::min(range->offset, result.object_size);
      end = begin + std::min(range->length, result.object_size - begin);
    }
  }
  result.body.resize(end - begin);
  size_t done = 0;
  while (done < result.body.size()) {
    ssize_t n = ::pread(fd.get(), result.body.data() + done, result.body.size() - done,
                        static_cast<off_t>(begin + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("GET", key, "cannot read", errno);
    if (n == 0) break;  // truncated under us; cannot happen with rename-based writers
    done += static_cast<size_t>(n);
  }
  result.body.resize(done);

  *metadata_consistent = false;
  Fd meta_fd(::open(sidecar_of(key).c_str(), O_RDONLY | O_CLOEXEC));
  if (meta_fd) {
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(meta_fd.get(), buf, sizeof buf)) > 0)
      text.append(buf, static_cast<size_t>(n));
    auto meta = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (meta.is_object() && meta.value("etag", "") == result.etag) {
      *metadata_consistent = true;
      if (meta.contains("metadata") && meta["metadata"].is_object()) {
        for (const auto& [name, value] : meta["metadata"].items()) {
          if (value.is_string()) result.metadata[name] = value.get<std::string>();
        }
      }
    }
  }
  return result;
}

GetResult FileStore::get(const std::string& key, std::optional<ByteRange> range) {
  return counted(*stats_, [&] {
    StoreStats::add(stats_->requests);
    StoreStats::add(stats_->gets);
    check_key("GET", key);
    throw_if_cancelled(cancel_.get(), "GET " + describe() + "/" + key);
    bool consistent = false;
    GetResult result = read_object(key, range, &consistent);
    if (!consistent) {
      // A writer may be between publishing the object and its sidecar: wait for it and re-read.
      // Still inconsistent under the lock means a crash orphaned the sidecar: no metadata.
      Lock lock(*this, LOCK_SH);
      result = read_object(key, range, &consistent);
    }
    StoreStats::add(stats_->bytes_received, result.body.size());
    return result;
  });
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

std::vector<ObjectInfo> FileStore::list(const std::string& prefix, const std::string& start_after) {
  return counted(*stats_, [&] {
    StoreStats::add(stats_->requests);
    StoreStats::add(stats_->lists);
    throw_if_cancelled(cancel_.get(), "LIST " + describe() + "/" + prefix);
    std::vector<ObjectInfo> out;
    // Walk only the deepest directory the prefix pins down.
    const auto last_slash = prefix.rfind('/');
    const std::string start_rel =
        last_slash == std::string::npos ? "" : prefix.substr(0, last_slash);

    // (directory relative to root, "" for root)
    std::vector<std::string> pending{start_rel};
    while (!pending.empty()) {
      const std::string rel = std::move(pending.back());
      pending.pop_back();
      const std::string dir_path = rel.empty() ? root_ : root_ + "/" + rel;
      DIR* dir = ::opendir(dir_path.c_str());
      if (dir == nullptr) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
          if (rel == start_rel && rel.empty()) {
            throw StoreError(
                StoreErrorKind::kNoSuchBucket,
                "LIST " + describe() + ": the replica directory does not exist — check the path");
          }
          continue;  // the prefix names nothing, or a directory vanished while we walked
        }
        fail_errno("LIST", rel, "cannot read directory", err);
      }
      std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, ::closedir);
      while (struct dirent* entry = ::readdir(dir)) {
        const std::string_view name = entry->d_name;
        if (name == "." || name == ".." || is_reserved(name)) continue;
        const std::string key = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
        struct stat st {};
        if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
          const std::string as_prefix = key + "/";
          // Descend only where keys matching the prefix can live.
          if (as_prefix.rfind(prefix, 0) == 0 || prefix.rfind(as_prefix, 0) == 0) {
            pending.push_back(key);
          }
          continue;
        }
        if (!S_ISREG(st.st_mode)) continue;
        if (key.rfind(prefix, 0) != 0 || key <= start_after) continue;
        out.push_back(
            ObjectInfo{key, static_cast<uint64_t>(st.st_size), etag_of(st), mtime_ms(st)});
      }
    }
    // Byte-wise order, which is S3's order for UTF-8 keys.
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
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
