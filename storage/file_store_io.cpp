#include "storage/file_store_io.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <random>
#include <system_error>
#include <vector>

namespace ltxvfs::storage::file_io {
namespace {

using base::Fd;

// mkdir with exactly `mode`: mkdir applies the umask, so the bits are set again afterwards. The
// directory is never more open than `mode` in between (the umask only removes bits).
int make_dir(const std::string& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0) return errno;
  if (::chmod(dir.c_str(), mode) != 0) return errno;
  return 0;
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

}  // namespace

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

int64_t file_system_now_ms() {
  struct timespec ts {};
  if (::syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) != 0) return 0;
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
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

int ensure_dirs(const std::string& dir, mode_t mode, bool durable,
                std::vector<std::string>* unsynced) {
  // The parent of a directory just made gained an entry.
  const auto gained = [&] {
    if (durable) return fsync_dir(dirname_of(dir));
    if (unsynced) unsynced->push_back(dirname_of(dir));
    return 0;
  };
  int err = make_dir(dir, mode);
  if (err == 0) return gained();
  if (err == EEXIST) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  }
  if (err != ENOENT || dir == "/") return err;
  if (int parent_err = ensure_dirs(dirname_of(dir), mode, durable, unsynced)) return parent_err;
  err = make_dir(dir, mode);
  if (err != 0 && err != EEXIST) return err;
  return gained();
}

int write_temp(const std::string& dir, const BodySource& body, mode_t mode,
               const Cancellation* cancel, const std::string& operation, TempFile& temp,
               struct stat* st, bool durable) {
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
  // From the kernel's clock, as file_system_now_ms() reads it: one clock for ages.
  struct timespec times[2] = {{0, UTIME_OMIT}, {0, 0}};
  ::syscall(SYS_clock_gettime, CLOCK_REALTIME, &times[1]);
  if (::futimens(fd.get(), times) != 0) return errno;
  if (durable && ::fsync(fd.get()) != 0) return errno;
  if (st && ::fstat(fd.get(), st) != 0) return errno;
  return 0;
}

void throw_errno(const std::string& subject, const std::string& what, int err) {
  throw StoreError(
      kind_for_errno(err),
      subject + ": " + what + ": " + std::generic_category().message(err) + hint_for_errno(err));
}

}  // namespace ltxvfs::storage::file_io
