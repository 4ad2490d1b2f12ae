// HeadKeeper: the owner's side of head.json (history/head_record.h). The writer takes the head
// once it holds the lease, before its first upload, and advances it after every level-0 upload;
// both are conditional writes (If-Match of the etag it last saw or wrote), so once another
// writer has taken the head, nothing this one does can commit a file again (issue 16, item 3).
//
// Single-threaded: the upload thread alone calls it (the replicator's open only reads the head),
// except note_tail(), which the history thread calls for its outputs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "history/committed_history.h"
#include "history/head_record.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {

// Another writer wrote the head since this one last did: it owns the history now.
class HeadLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HeadIdentity {
  std::string owner;        // the lease's owner string
  uint64_t generation = 0;  // the lease's generation
};

class HeadKeeper {
 public:
  // `identity` is asked at each write (the lease may be taken after construction).
  HeadKeeper(storage::ObjectStore& store, storage::LayoutStyle layout,
             std::function<HeadIdentity()> identity);

  // Takes the head (throws HeadLost once it was lost: never taken back from its new owner): reads
  // the history (head, then listing), asks `decide` for the TXID the store holds for this writer
  // (it throws to refuse; nothing is written then), and writes the head at that TXID with a new
  // takeover point after it. A race lost to another writer's advance reads again (at most 5 times).
  // Returns the TXID. Throws StoreError, and HeadLost when the race keeps being lost.
  // `by_key`: the history is read by key alone (read_history_by_key, history/open_listing.h): its
  // files have no size or time, and `decide` dates what it looks at (date_files_from).
  uint64_t take(const std::function<uint64_t(const History&)>& decide, bool by_key = false);
  bool taken() const { return etag_.has_value(); }
  // The head's TXID as this writer last wrote it.
  uint64_t txid() const { return record_.txid; }

  // After `file` was PUT: commits it — the head's TXID becomes file.max_txid, and the file is
  // named under every takeover point it spans. Throws HeadLost when another writer wrote the
  // head since, StoreError when the store failed (advancing again with the same file is safe).
  // `hints`: where its page index starts, page 1 ends and the schema's roots lie, kept in the
  // head for replicas (tails, page1 and roots in head_record.h).
  void advance(const RemoteFile& file, const IndexHints& hints = {});

  // Records the hints of a file written by compaction (any thread): the head is the upload
  // thread's alone to write, so they go into the next advance.
  void note_tail(const RemoteFile& file, const IndexHints& hints) EXCLUDES(noted_mu_);

  // The schema roots the head names, as last written (any thread): the pages whose frames an
  // upload or a compaction output reports (index_hints_of's `wanted`).
  std::vector<uint32_t> root_pgnos() const EXCLUDES(noted_mu_);

 private:
  // The conditional PUT; false when its condition failed.
  bool write(const HeadRecord& next, const std::optional<std::string>& if_match);
  // `next` is the head in the store now, with that etag.
  void wrote(const HeadRecord& next, const std::string& etag) EXCLUDES(noted_mu_);

  storage::ObjectStore& store_;
  const storage::LayoutStyle layout_;
  const std::function<HeadIdentity()> identity_;
  HeadRecord record_;                // as last written
  std::optional<std::string> etag_;  // of record_; nullopt until taken
  std::string lost_;                 // non-empty: another writer took the head; for good

  struct Noted {
    TailHint file;
    IndexHints hints;
  };
  mutable base::Mutex noted_mu_;
  std::vector<Noted> noted_ GUARDED_BY(noted_mu_);     // by note_tail, for the next advance
  std::vector<uint32_t> roots_ GUARDED_BY(noted_mu_);  // record_.root_pgnos(), for other threads
};

}  // namespace ltxvfs::history
