// ObjectStore: the one interface every replica backend implements (a local directory, S3 and
// S3-compatible stores). Keys are relative to the store's root (the directory, or bucket+prefix),
// use '/' as separator, and never start with '/'.
//
// Errors are reported by throwing StoreError. Implementations retry transient failures
// themselves (bounded, with backoff); a StoreError that escapes is final for that call, and
// `retriable()` says whether the caller may try the whole operation again later.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/body_source.h"

namespace ltxvfs::storage {

// What went wrong, independent of the backend. S3 error codes map onto these; the original code
// and message are kept in the StoreError's text.
enum class StoreErrorKind {
  kNotFound,            // NoSuchKey / ENOENT
  kNoSuchBucket,        // bucket (or replica directory) does not exist
  kPreconditionFailed,  // If-None-Match / If-Match not satisfied (HTTP 412, or file exists)
  kAccessDenied,        // 403 AccessDenied, EACCES
  kBadCredentials,      // SignatureDoesNotMatch, InvalidAccessKeyId, missing credentials
  kInvalidRange,        // 416
  kInvalidArgument,     // a malformed URL, key or option; never retried
  kUnavailable,         // connection refused, DNS, timeouts, 5xx after all retries
  kProtocol,            // the store answered something we cannot parse
  kIo,                  // local I/O error (file backend), or a BodySource that cannot be read
  kCancelled,           // the caller cancelled the store (see cancellation.h); never retried
};

const char* to_string(StoreErrorKind kind);

class StoreError : public std::runtime_error {
 public:
  StoreError(StoreErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  StoreErrorKind kind() const { return kind_; }
  // True for failures that may go away by themselves (network, 5xx, throttling).
  bool retriable() const { return kind_ == StoreErrorKind::kUnavailable; }
  // False for the answers a caller asks for and expects (an absent key, a conditional write that
  // lost): StoreStats::failures counts the rest, so a healthy writer shows 0 (issue 18: a fresh
  // writer showed "failures": 1, its GET of an absent lock.json).
  bool counts_as_failure() const {
    return kind_ != StoreErrorKind::kNotFound && kind_ != StoreErrorKind::kPreconditionFailed;
  }

 private:
  StoreErrorKind kind_;
};

// Inclusive-exclusive byte range [offset, offset+length). A negative-free "suffix" form asks for
// the last `length` bytes of the object (HTTP `bytes=-N`), which is how page indexes are read.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool suffix = false;

  static ByteRange at(uint64_t offset, uint64_t length) { return {offset, length, false}; }
  static ByteRange last(uint64_t length) { return {0, length, true}; }
  // The last `length` bytes of an object of `size` bytes (0: unknown). With the size known, an
  // explicit range rather than a suffix one: every S3-compatible server answers those, while some
  // (s3rver) read `bytes=-N` as the first N bytes. A caller should check the answer's
  // object_size against `size`: an object replaced since its size was learned gives other bytes.
  static ByteRange tail(uint64_t size, uint64_t length) {
    return size == 0 ? last(length) : at(size - std::min(size, length), std::min(size, length));
  }
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;              // opaque; pass back in PutOptions::if_match
  int64_t last_modified_ms = 0;  // milliseconds since the Unix epoch
};

struct PutOptions {
  // Only create the object if no object exists under the key (`If-None-Match: *`).
  bool if_none_match = false;
  // Only replace the object if its current etag equals this (`If-Match: <etag>`).
  std::optional<std::string> if_match;
  // User metadata (S3: x-amz-meta-<name>). Names are lower-case ASCII.
  std::map<std::string, std::string> metadata;
  // False: the object may be lost to a power failure after the put returns (still atomic, and
  // conditions hold as ever), for an object whose loss costs liveness only: the writer lease,
  // which the head fences (history/writer_lease.h). A directory store then fsyncs nothing for it
  // (2 fsyncs of every lease write, 4 of a new database's open); S3 has no such thing.
  bool durable = true;
};

struct PutResult {
  std::string etag;
};

struct GetResult {
  std::vector<uint8_t> body;
  uint64_t object_size = 0;  // the size of the whole object, even for a ranged get
  std::string etag;
  int64_t last_modified_ms = 0;
  // The store's own clock when it answered (S3: the Date header; a directory: the local clock),
  // the clock last_modified_ms comes from: their difference is an object's age that no other
  // host's clock enters. 0: unknown.
  int64_t store_time_ms = 0;
  std::map<std::string, std::string> metadata;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual PutResult put(const std::string& key, std::span<const uint8_t> body,
                        const PutOptions& options = {}) = 0;
  // The same for a body that need not be in memory. The default reads it whole and calls put();
  // FileStore, S3Store and FaultInjectingStore override it to stream: their memory stays bounded
  // (a few MiB) however large the body. The body may be read more than once (S3 hashes it, then
  // sends it, and a retried attempt reads it again from the start). A body that cannot be read
  // fails the call with the source's StoreError (kIo), which is not retried.
  virtual PutResult put_body(const std::string& key, const BodySource& body,
                             const PutOptions& options = {});
  // Throws StoreError(kNotFound) when the key does not exist, kInvalidRange when the range
  // starts past the end. A range that runs past the end is truncated to the object. The body is
  // exactly the bytes asked for: S3Store checks a 206's Content-Range against the request
  // (kProtocol when a server or proxy answered with other bytes) and cuts a 200's whole body to the
  // range.
  virtual GetResult get(const std::string& key, std::optional<ByteRange> range = std::nullopt) = 0;
  // get() of a byte range, its bytes handed to `received(etag, at, bytes)` as they arrive rather
  // than returned: in order, `at` where they start in the range, on the transfer's thread; from
  // `at` 0 again when a failed attempt is retried; `etag` the object's as the answer gives it.
  // The result is get()'s without its body, and what to trust: the answer is checked whole only
  // at the end (its length, its Content-Range), after bytes of it were handed over. `received`
  // must not throw. S3Store hands over each piece as libcurl does (a 1 MiB range through a
  // 20 ms, 64 MiB/s link takes 36 ms, its first frame 20) and never holds the body whole; the
  // default calls get() and hands over its body at once.
  using Received =
      std::function<void(const std::string& etag, uint64_t at, std::span<const uint8_t> bytes)>;
  virtual GetResult get_streamed(const std::string& key, const ByteRange& range,
                                 const Received& received) {
    GetResult whole = get(key, range);
    received(whole.etag, 0, whole.body);
    whole.body.clear();
    return whole;
  }
  virtual std::optional<ObjectInfo> head(const std::string& key) = 0;
  // The whole object when its etag is no longer `etag`; nullopt while it still is. For polling a
  // small object that rarely changes (a replica's head.json): S3Store sends one GET with
  // If-None-Match (a 304 costs no body); the default asks head() first, then get(). Throws
  // kNotFound when the key does not exist.
  virtual std::optional<GetResult> get_if_changed(const std::string& key, const std::string& etag);
  // Every object whose key starts with `prefix` and sorts after `start_after`, in key order
  // (all pages of the listing are fetched).
  virtual std::vector<ObjectInfo> list(const std::string& prefix,
                                       const std::string& start_after = "") = 0;
  // The same keys, where a store may leave out an object's size, etag and last_modified_ms when
  // they cost it more than the key (a directory: a stat call per file, issue 16 item 10). Such an
  // object comes back with an empty etag, size 0 and last_modified_ms 0; head() has them. The
  // default is list(), everything known.
  virtual std::vector<ObjectInfo> list_keys(const std::string& prefix,
                                            const std::string& start_after = "") {
    return list(prefix, start_after);
  }
  // Deletes the keys; keys that do not exist are not an error.
  virtual void remove(const std::vector<std::string>& keys) = 0;

  // A human-readable name of the store for messages, e.g. "s3://bucket/prefix" or
  // "file:///var/replica". Never contains a secret.
  virtual std::string describe() const = 0;
};

}  // namespace ltxvfs::storage
