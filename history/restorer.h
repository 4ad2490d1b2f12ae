// Restorer: downloads a restore plan's files in parallel and applies them in order to a new
// database file, which appears under its final name only once every file has been verified
// (file checksums, TXID continuity, pre/post-apply checksums where present).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "history/restore_plan.h"
#include "storage/object_store.h"

namespace ltxvfs::history {

struct RestoreProgress {
  size_t files_done = 0;
  size_t files_total = 0;
  uint64_t bytes_downloaded = 0;
  uint64_t bytes_total = 0;
};

// Files larger than this are streamed in chunks (ReadAheadSource: up to `parallelism` ranged GETs
// ahead of the decoder) and decoded by the applier (RestoreOptions::stream_above) instead of
// downloaded and decoded ahead. It was 16 MiB: W5's restore after +10k transactions at 1 GiB holds
// 18 files of 17-20 MiB, which the applier then decoded one after another (~180 ms each, 3.3 s of
// a 4.2 s restore).
inline constexpr uint64_t kStreamAbove = 64u << 20;
// A plan of one file streams it from this size on (RestoreOptions::stream_alone_above): downloaded
// ahead, it came over one connection and decoded on one thread with nothing beside it; streamed,
// it comes in `parallelism` ranged GETs of 4 MiB and decodes on every core
// (ltx/parallel_decode.h).
inline constexpr uint64_t kStreamAloneAbove = 8u << 20;

struct RestoreOptions {
  unsigned parallelism = 8;  // concurrent downloads
  // The most bytes of files downloading or being decoded at once: what bounds the memory of the
  // downloads ahead (history/restore_downloads.h); never below one file of stream_above.
  uint64_t held_bytes = uint64_t{256} << 20;
  uint64_t stream_above = kStreamAbove;  // tests stream smaller files
  uint64_t stream_alone_above = kStreamAloneAbove;
  // Whether file `i` of `plan` is streamed by the applier, not downloaded ahead.
  bool streams(const std::vector<RemoteFile>& plan, size_t i) const {
    return plan[i].size > stream_above || (plan.size() == 1 && plan[i].size > stream_alone_above);
  }
  // Replace an existing output file, removing its -wal, -shm and -journal files (which SQLite
  // would otherwise replay onto the restored database). Without it, any of them existing is an
  // error.
  bool overwrite = false;
  std::function<void(const RestoreProgress&)> progress;  // after each file, on the applier
  // Asked before each file and at each read of a file streamed in chunks: true stops the restore
  // with RestoreCancelled (once the downloads in flight end).
  std::function<bool()> cancelled;
  // Called with the path of the complete, synced temporary file before it replaces anything
  // (e.g. to run PRAGMA integrity_check on it); throwing aborts the restore and leaves the
  // output untouched. It must not leave -wal/-shm files beside the temporary file.
  std::function<void(const std::string& temp_path)> verify;
};

// The files SQLite keeps beside a database ("-wal", "-shm", "-journal"), which belong to the
// database now at `db_path` and must not meet a restored one.
std::vector<std::string> sqlite_sidecar_paths(const std::string& db_path);

struct RestoreResult {
  uint64_t txid = 0;
  uint32_t page_size = 0;
  uint32_t commit = 0;
  uint64_t bytes_downloaded = 0;
  size_t files = 0;  // in the chain applied
  // The database checksum of the result, as applied (ltx::DatabaseState::checksum): computed
  // from the pages written, whatever the files carry, so it can be compared with a trailer's
  // post-apply checksum read elsewhere (a replica's index of the chain's newest file).
  uint64_t checksum = 0;
  // The etag of each file of the plan as it was downloaded, in plan order ("" where the store
  // gave none): with the keys, what ties the result to objects read elsewhere when the files
  // carry no checksums (Litestream's).
  std::vector<std::string> etags;
};

// Restores `plan` into `output_path`. Throws RestoreError (or the store's / the format's error)
// naming what failed; on failure nothing at `output_path` has changed.
RestoreResult restore(storage::ObjectStore& store, const std::vector<RemoteFile>& plan,
                      const std::string& output_path, const RestoreOptions& options = {});

// Restores `plan` into the open file `fd` (`name` in messages) in place: every page the chain
// holds is written, then the file is cut to the database's size. Checks as restore(), but no
// temporary file, no fsync and no rename: what the file holds is the caller's to publish (a
// replica's hydration, vfs/replica/hydrator.h). The file is partly written when this throws.
RestoreResult restore_into(storage::ObjectStore& store, const std::vector<RemoteFile>& plan, int fd,
                           const std::string& name, const RestoreOptions& options = {});

class RestoreCancelled : public RestoreError {
 public:
  using RestoreError::RestoreError;
};

// A file of the plan failed verification (corrupt bytes, or a pre-apply checksum of another
// history): restore_around_bad_files() plans around it.
class BadFileError : public RestoreError {
 public:
  BadFileError(std::string file_key, const std::string& what)
      : RestoreError(what), key(std::move(file_key)) {}
  const std::string key;
};

// Restores `txid` by the chain RestoreGraph plans from `files`; when a file of it fails
// verification, plans again without that file (e.g. the level-0 chain under a corrupt compacted
// file or snapshot, issue 16 item 7) until a chain verifies or none is left, which throws
// naming every file set aside. `set_aside` receives each such file's key and why.
RestoreResult restore_around_bad_files(
    storage::ObjectStore& store, std::vector<RemoteFile> files, uint64_t txid,
    const std::string& output_path, const RestoreOptions& options = {},
    const std::function<void(const std::string& key, const std::string& why)>& set_aside = {});

// The newest restorable TXID whose commit time is at or before `timestamp_ms`. Candidates are the
// TXIDs a chain can restore (after compaction and retention, the ends of the levels' files);
// their commit times are the LTX headers' timestamps (one small ranged GET each, binary search).
// Throws RestoreError when everything restorable is newer.
uint64_t txid_at_time(storage::ObjectStore& store, const std::vector<RemoteFile>& files,
                      int64_t timestamp_ms);

}  // namespace ltxvfs::history
