// Uploader: ships durable spooled records to the store as level-0 objects, in TXID order, never
// skipping one. Contiguous records go up as one object (group upload) covering their TXID range:
// with the default upload interval that is about one PUT per second whatever the commit rate.
// Every PUT is conditional (If-None-Match: *, or If-Match of an uncommitted object it replaces),
// and each is committed by advancing the history's head (history/head_keeper.h) with If-Match:
// once another writer has taken the head, nothing this one uploads counts.
//
// Memory stays bounded whatever the size of the database or the backlog: one record is streamed
// from the spool log as it is; a group is compacted (compressed frames copied through) into a
// temporary file beside the spool and streamed from there.
//
// Single-threaded: UploadStage calls step() from its runs (one at a time) and decides when to
// retry.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/posix_file.h"
#include "history/head_keeper.h"
#include "ltx/source.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"
#include "vfs/writer/config.h"
#include "vfs/writer/spool.h"

namespace ltxvfs::writer {

// The store holds history this writer does not have: uploading would corrupt the replica.
// Permanent until someone acts; the message says what to do.
class RemoteConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct UploadLimits {
  // Compact at most this much into one object. Records are batches of commits already, so there
  // is no limit on their count: a group is whatever one upload interval spooled.
  uint64_t max_group_bytes = 256u << 20;
};

class Uploader {
 public:
  // `work_path`: the temporary file groups are compacted into (created with `file_mode`).
  // `head` commits each upload (history/head_keeper.h); it is taken before the first.
  Uploader(Spool& spool, storage::ObjectStore& store, storage::LayoutStyle layout,
           history::HeadKeeper& head, ltx::OutputFormat format, std::string work_path,
           uint32_t file_mode, UploadLimits limits = {}, ltx::KeyPtr key = nullptr);

  // With a key: the database id the groups it compacts are sealed for, and checked against
  // (vfs/writer/database_id.h). Call before the first upload.
  void bind_database(uint64_t id) { database_id_ = id; }

  enum class Outcome {
    kIdle,           // nothing durable to upload
    kUploaded,       // one object went up; call again
    kNeedsSnapshot,  // the store lacks the history before the spool: build a snapshot
  };

  // Takes the head (reads it and the listing) when not yet done, then uploads the next group
  // of durable records. Throws storage::StoreError on store failures (the caller retries with
  // backoff) and RemoteConflict when uploading is unsafe.
  Outcome step();

  // Newest TXID the store is known to hold (0: empty, nullopt: not listed yet).
  std::optional<uint64_t> remote_txid() const { return remote_max_; }
  // The first TXID of the object the last kUploaded step put (0 before any).
  uint64_t last_min_txid() const { return objects_ == 0 ? 0 : remote_ranges_.back().min_txid; }
  uint64_t objects_uploaded() const { return objects_; }
  uint64_t bytes_uploaded() const { return bytes_; }
  // The page-index bytes of the uploaded objects a replica's open reads whole (no directory):
  // the history stage compacts early when they pile up (HistoryPolicy::early_index_bytes).
  uint64_t short_index_bytes() const { return short_index_bytes_; }

 private:
  struct RemoteRange {
    uint64_t min_txid;
    uint64_t max_txid;
  };
  // The takeover's decision (HeadKeeper::take): the TXID the store holds for this database;
  // throws RemoteConflict when it holds history this database does not have. `from`: the first
  // TXID the spool holds.
  uint64_t take_head(const history::History& h, uint64_t from);
  // Takes the head (HeadKeeper::take) and sets remote_max_; throws RemoteConflict.
  void take_ownership();
  bool covered_by_remote(const SpoolEntry& e) const;
  // Compacts `group` into the work file; returns its size.
  uint64_t compact_group(const std::vector<Spool::Record>& group);
  void put(const std::string& key, const storage::BodySource& body, int64_t timestamp_ms);

  Spool& spool_;
  storage::ObjectStore& store_;
  storage::LayoutStyle layout_;
  history::HeadKeeper& head_;
  ltx::OutputFormat format_;
  ltx::KeyPtr key_;           // encrypts the groups it compacts
  uint64_t database_id_ = 0;  // bind_database(), before the first upload
  std::string work_path_;
  uint32_t file_mode_;
  UploadLimits limits_;
  base::Fd work_;  // open only while a group is compacted and uploaded
  std::optional<uint64_t> remote_max_;
  std::vector<RemoteRange> remote_ranges_;
  uint64_t objects_ = 0;
  uint64_t bytes_ = 0;
  uint64_t short_index_bytes_ = 0;
};

}  // namespace ltxvfs::writer
