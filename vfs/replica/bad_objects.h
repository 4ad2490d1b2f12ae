// BadObjects: the objects under LTX names that a replica found unusable — junk (no LTX file at
// all), a truncated file, a page index or header that fails verification, a page frame that does
// not decode — so that one bad object does not block the replica (issue 16, item 7). Plans leave
// them out and go through another chain (a corrupt snapshot or compacted file: the level-0 files
// under it); when a bad object is the only way on, the replica stays at the last TXID it can
// prove and says why (Hold), in the log, ltx_stats() and ltx_wait()'s error.
//
// Objects are recorded by version (key, size, modification time, as IndexCache keys them): a
// key rewritten with other content — the writer's upload replacing junk at its name — is a new
// object and is read again. Versions no longer listed are forgotten.
//
// Thread-safe: mu_ is a leaf lock (nothing is called while it is held).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "history/restore_plan.h"
#include "storage/object_store.h"

namespace ltxvfs::replica {

struct BadObject {
  history::RemoteFile file;
  std::string why;    // what failed verification
  bool junk = false;  // not an LTX file at all (no LTX1 magic)
  // Its page index is sound but a page frame is not, and no other chain reaches the TXID of a
  // snapshot that uses it: plans keep it (only reads of its damaged pages fail).
  bool unavoidable = false;
};

class BadObjects {
 public:
  // Records `bad`; false when that version was known already (nothing changes then).
  bool add(const BadObject& bad) EXCLUDES(mu_);
  // The record of that version of `file`, if it is a known bad object.
  std::optional<BadObject> find(const history::RemoteFile& file) const EXCLUDES(mu_);
  void mark_unavoidable(const history::RemoteFile& file) EXCLUDES(mu_);
  // Takes the known bad objects (but unavoidable ones) out of `files`.
  void remove_from(std::vector<history::RemoteFile>& files) const EXCLUDES(mu_);
  // Forgets every version that `listed` (a full listing) no longer holds.
  void forget_unlisted(const std::vector<history::RemoteFile>& listed) EXCLUDES(mu_);
  std::vector<BadObject> all() const EXCLUDES(mu_);

 private:
  mutable base::Mutex mu_;
  std::vector<BadObject> bad_ GUARDED_BY(mu_);  // a handful at most
};

// Classifies a bad object (one small GET): junk or a corrupt LTX file. Store errors count as not
// junk (the wording is then the one for a corrupt file).
BadObject classify_bad_object(storage::ObjectStore& store, const history::RemoteFile& file,
                              const std::string& why);

// For the operator: the object, what is wrong, what the replica does about it, and what fixes it.
std::string describe_bad_object(const BadObject& bad, const std::string& source);

// What holds a replica back at its newest restorable TXID `newest` when the store holds newer
// TXIDs: the bad object at the next TXID, or a gap. after == 0: nothing does.
struct Hold {
  uint64_t after = 0;
  std::string reason;  // complete: the object, what is wrong, what fixes it
  std::string brief;   // for the log, after the object's own warning
};
Hold hold_at(uint64_t newest, const std::vector<history::RemoteFile>& listed,
             const std::vector<BadObject>& bad, const std::string& source);

}  // namespace ltxvfs::replica
