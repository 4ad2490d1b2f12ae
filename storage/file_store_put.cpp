// FileStore's PUT: the object and its metadata sidecar are written to temporary files beside
// their targets, fsynced, then published under the store's lock (rename, or link() for
// If-None-Match) and the directories fsynced. See file_store.h for the guarantees.
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "storage/cancellation.h"
#include "storage/file_store.h"
#include "storage/file_store_io.h"
#include "storage/validation.h"

namespace ltxvfs::storage {

using namespace file_io;

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

}  // namespace ltxvfs::storage
