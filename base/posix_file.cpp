#include "base/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace ltxvfs::base {

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

void throw_errno(const std::string& what, const std::string& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path);
}

uint32_t directory_mode(uint32_t file_mode) {
  // Each read bit brings the matching execute bit: 0600 -> 0700, 0640 -> 0750, 0644 -> 0755.
  file_mode &= 0777;
  return file_mode | ((file_mode & 0444) >> 2);
}

uint32_t file_mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return kDefaultFileMode;
  return static_cast<uint32_t>(st.st_mode) & 0777;
}

Fd create_file(const std::string& path, int extra_flags, uint32_t mode, const std::string& what) {
  // O_EXCL first tells whether this call creates the file (and so owns its mode).
  const bool exclusive = (extra_flags & O_EXCL) != 0;
  Fd fd(::open(path.c_str(), extra_flags | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777));
  if (fd) {
    if (::fchmod(fd.get(), mode & 0777) != 0) throw_errno("chmod", path);
    return fd;
  }
  if (errno != EEXIST || exclusive) throw_errno(what, path);
  fd = Fd(::open(path.c_str(), (extra_flags & ~O_TRUNC) | O_CLOEXEC));
  if (!fd) throw_errno(what, path);
  if ((extra_flags & O_TRUNC) != 0 && ::ftruncate(fd.get(), 0) != 0) throw_errno(what, path);
  return fd;
}

void make_directories(const std::string& path, uint32_t file_mode) {
  if (path.empty()) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      throw_errno("cannot create directory", path);
    }
    return;
  }
  make_directories(directory_of(path), file_mode);
  const mode_t mode = directory_mode(file_mode);
  if (::mkdir(path.c_str(), mode) != 0) {
    if (errno != EEXIST) throw_errno("mkdir", path);
    return;
  }
  if (::chmod(path.c_str(), mode) != 0) throw_errno("chmod", path);  // the umask narrowed it
}

void fsync_path(const std::string& path, bool skip_unreadable) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && skip_unreadable && (errno == EACCES || errno == EPERM)) return;
  if (!fd) throw_errno("open for fsync", path);
  if (::fsync(fd.get()) != 0) throw_errno("fsync", path);
}

void write_all(int fd, std::span<const uint8_t> data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write", path);
    }
    data = data.subspan(static_cast<size_t>(n));
  }
}

void start_writeback(int fd, uint64_t offset, uint64_t length) {
#ifdef __linux__
  (void)::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                          SYNC_FILE_RANGE_WRITE);
#else
  (void)fd, (void)offset, (void)length;
#endif
}

void pwrite_all(int fd, uint64_t offset, std::span<const uint8_t> data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write", path);
    }
    data = data.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
}

size_t pread_full(int fd, uint64_t offset, std::span<uint8_t> out, const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void write_file_atomically(const std::string& path, std::span<const uint8_t> data, bool durable,
                           uint32_t mode) {
  const std::string tmp = path + ".tmp";
  {
    ::unlink(tmp.c_str());  // a leftover may carry another mode
    Fd fd = create_file(tmp, O_WRONLY | O_TRUNC, mode, "create");
    write_all(fd.get(), data, tmp);
    if (durable && ::fsync(fd.get()) != 0) throw_errno("fsync", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("rename to " + path, tmp);
  if (durable) fsync_path(directory_of(path));
}

std::vector<uint8_t> read_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat", path);
  std::vector<uint8_t> out(static_cast<size_t>(st.st_size));
  out.resize(pread_full(fd.get(), 0, out, path));
  return out;
}

std::string directory_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace ltxvfs::base
