// FileStore's PUT: the object and its metadata sidecar (when it has metadata) are written to
// temporary files beside their targets (the object's fsynced), then published under the store's
// lock (rename, or link() for If-None-Match) and the object's directory fsynced. See file_store.h
// for the guarantees.
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storage/cancellation.h"
#include "storage/file_store.h"
#include "storage/file_store_io.h"
#include "storage/validation.h"

namespace ltxvfs::storage {

using namespace file_io;

namespace {

// What the steps of one put share.
struct PutSteps {
  const std::string& subject;  // "PUT file://<root>/<key>": what every message names
  mode_t file_mode;
  mode_t dir_mode;

  // Creates `dir` if needed and writes `body` to a new temporary file in it, fsynced but not yet
  // published (write_temp); `failure` starts the message when the file cannot be written.
  void write_unpublished(const std::string& dir, const BodySource& body, const Cancellation* cancel,
                         const std::string& failure, TempFile& temp, struct stat* st,
                         bool durable = true, std::vector<std::string>* unsynced = nullptr) const {
    if (int err = ensure_dirs(dir, dir_mode, durable, unsynced)) {
      throw_errno(subject, "cannot create directory " + dir, err);
    }
    if (int err = write_temp(dir, body, file_mode, cancel, subject, temp, st, durable)) {
      throw_errno(subject, failure + dir, err);
    }
  }

  [[noreturn]] void refuse_existing() const {
    throw StoreError(
        StoreErrorKind::kPreconditionFailed,
        subject + ": 412 PreconditionFailed: the object already exists (If-None-Match)");
  }

  // If-None-Match: link() fails if the name exists, so the check and the publish are one atomic
  // step (even against writers that do not take the lock).
  void publish_if_absent(TempFile& temp, const std::string& path) const {
    if (::link(temp.path().c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) refuse_existing();
      throw_errno(subject, "cannot publish the object", errno);
    }
    ::unlink(temp.path().c_str());
    temp.release();
  }

  // If-Match: the object must exist with this etag (checked under the store's lock).
  void check_etag(const std::string& path, const std::string& expected) const {
    struct stat current {};
    if (::stat(path.c_str(), &current) != 0) {
      if (errno == ENOENT) {
        throw StoreError(StoreErrorKind::kNotFound,
                         subject + ": 404 NoSuchKey: If-Match given but the object does not exist");
      }
      throw_errno(subject, "cannot stat the object", errno);
    }
    if (etag_of(current) != expected) {
      throw StoreError(StoreErrorKind::kPreconditionFailed,
                       subject + ": 412 PreconditionFailed: the object's etag is " +
                           etag_of(current) + ", not " + expected + " (If-Match)");
    }
  }

  // Renames the temporary file over `path`: readers see the old file or the new one.
  void publish(TempFile& temp, const std::string& path, const std::string& failure) const {
    if (::rename(temp.path().c_str(), path.c_str()) != 0) throw_errno(subject, failure, errno);
    temp.release();
  }

  void sync_dir(const std::string& dir) const {
    if (int err = fsync_dir(dir)) throw_errno(subject, "cannot fsync " + dir, err);
  }
};

// The sidecar records the etag it belongs to, so a reader can tell a stale or orphaned one.
std::string sidecar_text(const std::string& etag, const std::map<std::string, std::string>& meta) {
  return nlohmann::json{{"etag", etag}, {"metadata", meta}}.dump();
}

}  // namespace

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
    validate_metadata(options.metadata, operation);
    const PutSteps put{operation, file_mode_, dir_mode_};

    // 1. The object, then its sidecar, written under temporary names beside their targets.
    const std::string path = path_of(key);
    const std::string dir = dirname_of(path);
    TempFile object_temp;
    struct stat st {};
    std::vector<std::string> unsynced;  // directories a put that need not be durable made
    put.write_unpublished(dir, body, cancel_.get(), "cannot write a temporary file in ",
                          object_temp, &st, options.durable, &unsynced);
    if (!unsynced.empty()) {
      base::MutexLock lock(unsynced_mu_);
      unsynced_dirs_.insert(unsynced_dirs_.end(), unsynced.begin(), unsynced.end());
    }
    const std::string etag = etag_of(st);
    const std::string sidecar = sidecar_of(key);
    // The sidecar is advisory (file_store.h): never fsynced, nor the directories made for it. A
    // lost, torn or stale one (another etag) reads as "no metadata". Its fsyncs were 4 of the 10
    // of a database's first upload and 2 of the 6 of every later one (issue 18). An object
    // without metadata (head.json, lock.json: every upload and lease renewal writes one) has no
    // sidecar at all: one file created and renamed fewer per put.
    const bool has_metadata = !options.metadata.empty();
    TempFile sidecar_temp;
    if (has_metadata) {
      const std::string meta_text = sidecar_text(etag, options.metadata);
      put.write_unpublished(
          dirname_of(sidecar),
          MemoryBody({reinterpret_cast<const uint8_t*>(meta_text.data()), meta_text.size()}),
          nullptr, "cannot write metadata in ", sidecar_temp, nullptr, /*durable=*/false);
    }

    // 2. Publish both under the lock, the preconditions checked first. The sidecar goes first:
    //    its etag matches only once the object is published, so a reader that finds no sidecar
    //    at all for the version it read knows that version has no metadata (file_store_get.cpp).
    //    Past this point the put completes: cancelling would leave a sidecar without its object.
    Lock lock(*this, LOCK_EX);
    if (options.if_none_match) {
      struct stat existing {};
      if (::lstat(path.c_str(), &existing) == 0) put.refuse_existing();
    } else if (options.if_match) {
      put.check_etag(path, *options.if_match);
    }
    if (has_metadata) put.publish(sidecar_temp, sidecar, "cannot publish metadata");
    if (options.if_none_match) {
      put.publish_if_absent(object_temp, path);  // still atomic against writers without the lock
    } else {
      put.publish(object_temp, path, "cannot publish the object");
    }
    if (!has_metadata) ::unlink(sidecar.c_str());  // the replaced version's, if it had one
    if (options.durable) {
      put.sync_dir(dir);
      sync_unsynced_dirs(operation);
    }
    StoreStats::add(stats_->bytes_sent, body.size());
    return PutResult{etag};
  });
}

}  // namespace ltxvfs::storage
