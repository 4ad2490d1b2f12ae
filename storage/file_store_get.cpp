// FileStore's GET: a whole object or a byte range of it, with the metadata from its sidecar when
// the sidecar belongs to the version read (else re-read under the lock).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "base/posix_file.h"
#include "storage/cancellation.h"
#include "storage/file_store.h"
#include "storage/file_store_io.h"

namespace ltxvfs::storage {

using base::Fd;
using namespace file_io;

namespace {

// The bytes [begin, end) of the object that `range` selects, as S3 answers it; throws
// kInvalidRange when S3 would answer 416.
std::pair<uint64_t, uint64_t> bounds_of(const std::optional<ByteRange>& range, uint64_t size,
                                        const std::string& subject) {
  if (!range) return {0, size};
  auto invalid_range = [&] {
    throw StoreError(StoreErrorKind::kInvalidRange,
                     subject + ": 416 InvalidRange: range " +
                         (range->suffix ? "last " + std::to_string(range->length) + " bytes"
                                        : "offset " + std::to_string(range->offset)) +
                         " is outside the object of " + std::to_string(size) + " bytes");
  };
  if (range->suffix) {
    // As HTTP "bytes=-N": N = 0 selects nothing and is unsatisfiable.
    if (range->length == 0) invalid_range();
    return {size - std::min(range->length, size), size};
  }
  // Starting past the end is unsatisfiable even for an empty range (as S3Store answers); an
  // empty range exactly at the end is the empty tail.
  if (range->offset > size || (range->offset == size && range->length > 0)) invalid_range();
  const uint64_t begin = std::min(range->offset, size);
  return {begin, begin + std::min(range->length, size - begin)};
}

// What the sidecar at `path` says of the version whose etag is `etag`: its metadata (kMatches, in
// `out`), that there is no sidecar (kAbsent), or nothing usable (kOther: another version's, or
// unreadable, torn or empty).
enum class Sidecar { kMatches, kAbsent, kOther };
Sidecar read_sidecar(const std::string& path, const std::string& etag,
                     std::map<std::string, std::string>& out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno == ENOENT || errno == ENOTDIR ? Sidecar::kAbsent : Sidecar::kOther;
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  auto meta = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object() || meta.value("etag", "") != etag) return Sidecar::kOther;
  if (meta.contains("metadata") && meta["metadata"].is_object()) {
    for (const auto& [name, value] : meta["metadata"].items()) {
      if (value.is_string()) out[name] = value.get<std::string>();
    }
  }
  return Sidecar::kMatches;
}

// Opens the object at `path` for reading: kNotFound when there is none (a directory is not an
// object), kNoSuchBucket when the store's directory `root` itself is gone.
Fd open_object(const std::string& path, const std::string& root, const std::string& subject,
               struct stat* st) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  int err = 0;
  if (!fd || ::fstat(fd.get(), st) != 0)
    err = errno;
  else if (!S_ISREG(st->st_mode))
    err = ENOENT;
  if (err == ENOENT || err == ENOTDIR) {
    struct stat root_st {};
    if (::stat(root.c_str(), &root_st) != 0) {
      throw StoreError(StoreErrorKind::kNoSuchBucket,
                       subject + ": the replica directory does not exist — check the path");
    }
    throw StoreError(StoreErrorKind::kNotFound, subject + ": 404 NoSuchKey: no such object");
  }
  if (err != 0) throw_errno(subject, "cannot open", err);
  return fd;
}

}  // namespace

GetResult FileStore::read_object(const std::string& key, const std::optional<ByteRange>& range,
                                 bool* metadata_consistent) const {
  const std::string subject = "GET " + describe() + "/" + key;
  struct stat st {};
  const Fd fd = open_object(path_of(key), root_, subject, &st);
  GetResult result;
  result.object_size = static_cast<uint64_t>(st.st_size);
  result.etag = etag_of(st);
  result.last_modified_ms = mtime_ms(st);
  result.store_time_ms = file_system_now_ms();

  const auto [begin, end] = bounds_of(range, result.object_size, subject);
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

  std::map<std::string, std::string> metadata;
  switch (read_sidecar(sidecar_of(key), result.etag, metadata)) {
    case Sidecar::kMatches:
      *metadata_consistent = true;
      result.metadata = std::move(metadata);
      break;
    case Sidecar::kAbsent: {
      // A put with metadata publishes the sidecar before the object, so no sidecar means the
      // version read has none, if it is still the published one (a put without metadata removes
      // the replaced version's sidecar after publishing).
      struct stat now {};
      *metadata_consistent = ::stat(path_of(key).c_str(), &now) == 0 && etag_of(now) == result.etag;
      break;
    }
    case Sidecar::kOther:
      *metadata_consistent = false;
      break;
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
