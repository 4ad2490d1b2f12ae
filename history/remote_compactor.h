// RemoteCompactor: compacts remote LTX files into one new remote file, working only through the
// ObjectStore. Inputs are streamed with ranged GETs (remote_source.h), the output goes to an
// anonymous temporary file (O_TMPFILE: a crash leaves nothing behind) and is uploaded from
// there with a conditional PUT (If-None-Match: *), so memory stays bounded whatever the sizes.
//
// A PUT refused because the key exists is fine when the existing object holds the same
// transactions (an earlier run uploaded it before it could record that); anything else is a
// HistoryConflict: another writer is shaping this replica, and nothing may be overwritten.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "history/head_record.h"
#include "history/remote_source.h"
#include "history/restore_plan.h"
#include "ltx/encoder.h"
#include "ltx/header.h"
#include "ltx/source.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {

class HistoryConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WrittenFile;

struct CompactionWork {
  // The pages whose frames an output's hints report besides the roots its own page 1 names: the
  // head's schema roots (HeadKeeper::root_pgnos). Empty: none.
  std::function<std::vector<uint32_t>()> hinted_pages;
  // Where outputs are written before they are uploaded; "" uses $TMPDIR (or /tmp). Needs room for
  // the largest output (a snapshot is the size of the compressed database).
  std::string temp_dir;
  // Each input is read in chunks of this size (an input no larger is fetched in one GET). Small:
  // compaction runs inside the writing process, whose memory over plain SQLite must stay within
  // a few MiB (issue 9: +16 MiB at most); a 64 MiB input costs 256 GETs, in the background.
  uint64_t chunk_bytes = 256u << 10;
  // Small inputs are fetched this many at a time before the merge starts.
  unsigned prefetch_threads = 8;
  // Polled before every read and between steps: true makes the running compaction, snapshot or
  // run throw WorkStopped (remote_source.h) at the next one. Nothing half-done is published, so
  // a writer that is closing can stop a long snapshot build at once.
  StopCheck stop_requested;
  // Polled by the history engine between steps and while it builds a snapshot: true when the
  // writer is closing and gives the run in progress the rest of its close budget instead of
  // stopping it (issue 16, item 10). The levels and retention go on to the end of the run; a
  // snapshot larger than kCloseSnapshotBytes (history_engine.h) is skipped or abandoned.
  // stop_requested still ends everything. Empty: never closing.
  StopCheck closing;
  // Called right before every write to the store (an output's PUT) and every batch of deletes:
  // throws (HistoryConflict) when this writer may no longer shape the replica. The writer makes
  // it a conditional write of the lease (history/writer_lease.h), so a process paused in the
  // middle of a run for longer than its lease never writes or deletes on a stale belief that it
  // still owns the replica (issue 16: a paused writer deleted its successor's files). Empty: no
  // check (the CLI, which takes no lease).
  std::function<void()> confirm_owner;
  // Encrypts the outputs (native format only): compaction and snapshots seal every page with it,
  // so a rotated key applies from the next compaction on. Inputs are read with whatever
  // registered key they name (ltx/encryption_key.h).
  ltx::KeyPtr encryption_key;
  // The database the outputs are sealed for, which every encrypted input must belong to
  // (ltx/compactor.h). The writer sets its own (vfs/writer/database_id.h); 0 (the CLI) takes the
  // inputs', and leaves the output of unencrypted inputs unencrypted.
  uint64_t database_id = 0;
  // Called after each output this compactor PUT is in the store (not for one already there): the
  // writer records its tail in the head for replicas (history/head_record.h). Empty: nothing.
  std::function<void(const WrittenFile&)> written;
};

// What the inputs of one compaction may hold in memory at once, counted per input as
// min(size, chunk + the decoder's read buffer): level_inputs() callers stop adding inputs there.
// 4 MiB: about eight large inputs per output file (a long run of large level-0 files becomes
// several level-1 files); small inputs, the usual case, count only their size.
inline constexpr uint64_t kCompactionMemoryBudget = 4u << 20;
uint64_t compaction_memory_of(const RemoteFile& input, const CompactionWork& work);

struct WrittenFile {
  RemoteFile file;
  ltx::Header header;
  bool already_there = false;  // the key existed with the same transactions
  IndexHints hints;  // where its page index, page 1 and the roots are; only when `written` is set
  uint64_t bytes_read = 0;  // from the store, for the inputs
  uint64_t gets = 0;
  uint64_t pages_copied = 0;
  uint64_t pages_reencoded = 0;
};

class RemoteCompactor {
 public:
  RemoteCompactor(storage::ObjectStore& store, storage::LayoutStyle layout,
                  ltx::OutputFormat format, CompactionWork work = {});

  // Compacts `inputs` (contiguous TXIDs, in order) into the file of `level` covering their range.
  // The output is in the replica's format: Litestream's (LZ4 frames, no checksums) or native
  // (zstd; with checksums when every input has them). `now_ms` becomes the result's
  // last_modified_ms (the store's own is not known without another request). Throws
  // storage::StoreError (retriable ones: try again later), ltx::LtxError for a corrupt input,
  // HistoryConflict as above, WorkStopped when work.stop_requested says so.
  WrittenFile write(uint32_t level, const std::vector<RemoteFile>& inputs, int64_t now_ms);

 private:
  // After a PUT of the output in `output_fd` at `key` failed because the key exists: returns when
  // the object there holds the same transactions, else throws HistoryConflict.
  void check_existing(const std::string& key, int output_fd);

  storage::ObjectStore& store_;
  storage::LayoutStyle layout_;
  ltx::OutputFormat format_;
  CompactionWork work_;
};

}  // namespace ltxvfs::history
