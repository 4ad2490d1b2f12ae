// FileStore: an ObjectStore over a local directory. Object "a/b/c" is the file <root>/a/b/c, so a
// replica directory is plain files any tool (and Litestream) can read.
//
// Durability and atomicity:
// - put writes a temporary file in the target's directory, fsyncs it, renames it over the target
//   (or link()s it, for If-None-Match) and fsyncs the directory: readers see the old or the new
//   object, never a torn one, and a completed put survives a crash (its metadata: below). put_body
//   copies its body into the temporary file in 256 KiB chunks, so memory stays bounded however
//   large the body; put() of bytes in memory takes the same path. A put with
//   PutOptions::durable false (the writer lease) skips both fsyncs, and directories it creates
//   are not synced; neither is the root the constructor creates. The next durable put syncs the
//   directories that gained an entry meanwhile before it returns, so what it wrote is reachable
//   after a crash (a new database's open made 4 fsyncs here for its lease and the root).
// - Conditional puts are decided under an exclusive flock() on <root>/.ltxvfs-lock, so they are
//   correct between threads and between processes; If-None-Match additionally relies on link()
//   failing with EEXIST, which is atomic even against writers that do not take the lock.
//
// ETag: "<inode>-<size>-<mtime ns>" (hex, quoted like S3's). Every put creates a new inode with a
// fresh mtime, so a replaced object always gets a new etag; no content hash is computed.
//
// Metadata lives in a sidecar JSON file <root>/.ltxvfs-meta/<key> that records the etag it
// belongs to; an object put without metadata has none (a put removes the sidecar of the version
// it replaces). A sidecar is published under the same lock, just before its object, so a reader
// that finds no sidecar for the version it read, still published, knows it has no metadata; one
// that finds a sidecar of another etag, or no sidecar for a version already replaced, re-reads
// under a shared lock. A sidecar orphaned by a crash between the two steps is ignored (the
// object it replaced then reads with no metadata).
// Metadata here is advisory, unlike S3's: the sidecar is never fsynced, so after a crash of the
// machine (not of a process: the page cache keeps it) an object may read with no metadata, never
// with another object's (a lost, torn or stale sidecar does not match the etag). ltxvfs reads no
// metadata back; the one it writes, litestream-timestamp on LTX files, repeats the timestamp in
// the file's own header. Making it durable cost 2 of the 6 fsyncs of every upload (4 more on a
// database's first, for the sidecar directories).
//
// Permissions: every file the store creates (objects, sidecars, temporary files, the lock file)
// gets exactly FileStoreOptions::file_mode, and every directory it creates that mode plus execute
// where read is set, whatever the umask (fchmod/chmod after creating; never more open in
// between). Existing files and directories keep theirs.
//
// Cancellation: with FileStoreOptions::cancel cancelled, calls fail at once with kCancelled, and a
// put stops between chunks (before anything is published; the temporary file is removed).
//
// Reserved names: any path segment starting with ".ltxvfs" (the lock, sidecars, temporary files)
// is never listed and cannot be used in a key. Temporary files left by a crashed writer are
// hidden the same way; they are not cleaned up automatically.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "storage/cancellation.h"
#include "storage/object_store.h"
#include "storage/store_stats.h"

namespace ltxvfs::storage {

struct FileStoreOptions {
  bool create_if_missing = true;         // create the root directory (and parents) if needed
  std::shared_ptr<StoreStats> stats;     // created when null
  mode_t file_mode = 0644;               // see above; 0..0777, else kInvalidArgument
  std::shared_ptr<Cancellation> cancel;  // may be null
};

class FileStore : public ObjectStore {
 public:
  // `root_dir` may be relative; it is made absolute now. Throws kNoSuchBucket when the directory
  // does not exist and create_if_missing is false, kIo/kAccessDenied when it cannot be created.
  explicit FileStore(const std::string& root_dir, FileStoreOptions options = {});

  PutResult put(const std::string& key, std::span<const uint8_t> body,
                const PutOptions& options = {}) override;
  PutResult put_body(const std::string& key, const BodySource& body,
                     const PutOptions& options = {}) override;
  GetResult get(const std::string& key, std::optional<ByteRange> range = std::nullopt) override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& prefix,
                               const std::string& start_after = "") override;
  // Keys from the directory entries alone: no stat call where the file system gives an entry's
  // type (then size, etag and last_modified_ms are left out).
  std::vector<ObjectInfo> list_keys(const std::string& prefix,
                                    const std::string& start_after = "") override;
  void remove(const std::vector<std::string>& keys) override;
  std::string describe() const override;

  const std::string& root() const { return root_; }
  const std::shared_ptr<StoreStats>& stats() const { return stats_; }

 private:
  class Lock;
  std::string path_of(const std::string& key) const;
  std::string sidecar_of(const std::string& key) const;
  void check_key(const std::string& op, const std::string& key) const;
  [[noreturn]] void fail_errno(const std::string& op, const std::string& key,
                               const std::string& what, int err) const;
  GetResult read_object(const std::string& key, const std::optional<ByteRange>& range,
                        bool* metadata_consistent) const;
  std::vector<ObjectInfo> walk(const std::string& prefix, const std::string& start_after,
                               bool metadata);
  // Before a durable put is acknowledged: fsyncs the directories that gained an entry without
  // one (the root made by the constructor, directories a non-durable put made), so the object is
  // reachable after a crash. Throws StoreError naming `operation` when one cannot be synced
  // (they stay pending).
  void sync_unsynced_dirs(const std::string& operation) EXCLUDES(unsynced_mu_);

  // Constant after construction.
  std::string root_;
  std::shared_ptr<StoreStats> stats_;
  std::shared_ptr<Cancellation> cancel_;
  mode_t file_mode_;
  mode_t dir_mode_;

  base::Mutex unsynced_mu_;
  std::vector<std::string> unsynced_dirs_ GUARDED_BY(unsynced_mu_);
};

}  // namespace ltxvfs::storage
