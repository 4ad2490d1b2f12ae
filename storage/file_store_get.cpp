// FileStore's GET: a whole object or a byte range of it, with the metadata from its sidecar when
// the sidecar belongs to the version read (else re-read under the lock).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/posix_file.h"
#include "storage/cancellation.h"
#include "storage/file_store.h"
#include "storage/file_store_io.h"

namespace ltxvfs::storage {

using base::Fd;
using namespace file_io;

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

}  // namespace ltxvfs::storage
