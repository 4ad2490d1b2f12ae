#include "ltx/key_source.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ltx/error.h"

namespace ltxvfs::ltx {

KeyRing read_key_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw LtxError(LtxErrorKind::kInvalidArgument, "encryption key file " + path,
                   std::string("cannot be opened: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw LtxError(LtxErrorKind::kInvalidArgument, "encryption key file " + path,
                   std::string("has mode ") + mode +
                       ": group or others may access it, so it is refused (run: chmod 600 " + path +
                       ")");
  }
  // A key file holds a few lines of key text; anything else (a device, a huge file) is a wrong
  // path, refused before it is read.
  constexpr off_t kMaxKeyFile = 64 * 1024;
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxKeyFile) {
    ::close(fd);
    throw LtxError(LtxErrorKind::kInvalidArgument, "encryption key file " + path,
                   "is not a regular file of at most 64 KiB");
  }
  std::string text;
  char buf[4096];
  for (ssize_t n; text.size() <= kMaxKeyFile && (n = ::read(fd, buf, sizeof buf)) > 0;) {
    text.append(buf, std::size_t(n));
  }
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
  KeyRing ring;
  try {
    ring = KeyRing::parse(text);
  } catch (...) {
    OPENSSL_cleanse(text.data(), text.size());
    throw;
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (ring.empty()) {
    throw LtxError(LtxErrorKind::kInvalidArgument, "encryption key file " + path, "holds no key");
  }
  return ring;
}

KeyRing load_keys(const std::string& key_file) {
  KeyRing ring;
  if (!key_file.empty()) {
    ring = read_key_file(key_file);
  } else if (const char* env = std::getenv(kKeyEnvVar); env != nullptr && *env != '\0') {
    ring = KeyRing::parse(env);
  }
  register_keys(ring);
  return ring;
}

}  // namespace ltxvfs::ltx
