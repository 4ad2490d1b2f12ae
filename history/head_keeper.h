// HeadKeeper: the owner's side of head.json (history/head_record.h). The writer takes the head
// once it holds the lease, before its first upload, and advances it after every level-0 upload;
// both are conditional writes (If-Match of the etag it last saw or wrote), so once another
// writer has taken the head, nothing this one does can commit a file again (issue 16, item 3).
//
// Thread-safe. The upload thread takes and advances the head; the history thread notes its
// outputs (note_tail) and publishes them when no upload is coming to carry them (publish_noted:
// an idle writer's compactions and snapshots). mu_ serialises every write of the head, so the
// record and etag this writer last wrote stay one pair; the store's conditions (If-Match) are
// what fence out other writers.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
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
  uint64_t take(const std::function<uint64_t(const History&)>& decide, bool by_key = false)
      EXCLUDES(mu_);
  bool taken() const EXCLUDES(mu_);
  // The head's TXID as this writer last wrote it.
  uint64_t txid() const EXCLUDES(mu_);

  // After `file` was PUT: commits it — the head's TXID becomes file.max_txid, and the file is
  // named under every takeover point it spans. Throws HeadLost when another writer wrote the
  // head since, StoreError when the store failed (advancing again with the same file is safe).
  // `hints`: where its page index starts, page 1 ends and the schema's roots lie, kept in the
  // head for replicas (tails, page1 and roots in head_record.h).
  void advance(const RemoteFile& file, const IndexHints& hints = {}) EXCLUDES(mu_);

  // Records the hints of a file written by compaction (any thread): they go into the next
  // advance, or the next publish_noted().
  void note_tail(const RemoteFile& file, const IndexHints& hints) EXCLUDES(noted_mu_);

  // Writes the head with the hints noted since the last write, its TXID unchanged; nothing when
  // none are noted, the head was not taken yet (the first advance carries them) or was lost.
  // The history thread calls it after a run that wrote files: an idle writer uploads nothing
  // that would carry them, and a replica's open then guessed each new file's index length
  // (a snapshot of a 1 GiB database: a 64 KiB GET, then one of 2.4 MB). Throws as advance().
  // One PUT per history run that wrote something.
  void publish_noted() EXCLUDES(mu_);

  // The schema roots the head names, as last written (any thread): the pages whose frames an
  // upload or a compaction output reports (index_hints_of's `wanted`).
  std::vector<uint32_t> root_pgnos() const EXCLUDES(noted_mu_);

 private:
  struct Noted {
    TailHint file;
    IndexHints hints;
  };

  // The conditional PUT; false when its condition failed.
  bool write(const HeadRecord& next, const std::optional<std::string>& if_match) REQUIRES(mu_);
  // `next` is the head in the store now, with that etag.
  void wrote(const HeadRecord& next, const std::string& etag) REQUIRES(mu_) EXCLUDES(noted_mu_);
  // Writes record_ changed by `change` (If-Match of etag_). When the condition fails: done if
  // the head is what we wrote (our answer was lost); again over the head as it is if only its
  // hints changed (`ltxvfs compact` recorded its outputs', record_hints_in_head); else the head
  // is lost for good (HeadLost).
  void write_changed(const std::function<void(HeadRecord&)>& change) REQUIRES(mu_);
  std::vector<Noted> take_noted() EXCLUDES(noted_mu_);
  void restore_noted(std::vector<Noted> noted) EXCLUDES(noted_mu_);

  // Constant after construction.
  storage::ObjectStore& store_;
  const storage::LayoutStyle layout_;
  const std::function<HeadIdentity()> identity_;

  // Protected by mu_ (held across the head's GETs and PUTs: only this writer's upload and history
  // threads wait on it).
  mutable base::Mutex mu_ ACQUIRED_BEFORE(noted_mu_);
  HeadRecord record_ GUARDED_BY(mu_);                // as last written
  std::optional<std::string> etag_ GUARDED_BY(mu_);  // of record_; nullopt until taken
  std::string lost_ GUARDED_BY(mu_);  // non-empty: another writer took the head; for good

  // Protected by noted_mu_.
  mutable base::Mutex noted_mu_;
  std::vector<Noted> noted_ GUARDED_BY(noted_mu_);     // by note_tail, for the next advance
  std::vector<uint32_t> roots_ GUARDED_BY(noted_mu_);  // record_.root_pgnos(), for other threads
};

// Records in head.json where `written` files' indexes, page 1 and schema roots are (their
// IndexHints), the rest of the head unchanged, with If-Match of the head as read: what
// `ltxvfs compact` does after its outputs are in the store, so a replica's open reads each new
// index in one exact GET. Only while no writer holds the lease (the caller checks): a writer
// that took the head meanwhile fails the condition, and one that advances after this write
// sees only hints changed and carries on (HeadKeeper::write_changed). Returns false when there is
// no head (a history without head.json), nothing to record, or the head changed meanwhile.
// Throws StoreError.
bool record_hints_in_head(storage::ObjectStore& store, storage::LayoutStyle layout,
                          const std::vector<std::pair<RemoteFile, IndexHints>>& written);

}  // namespace ltxvfs::history
