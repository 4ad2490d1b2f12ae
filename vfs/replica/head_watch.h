// HeadWatch: the replica's view of the primary's head (head.json, history/head_record.h), polled
// with one conditional GET (issue 18: an idle replica listed the store once per poll, ~86,000
// LISTs a day; now it learns "nothing new" from a 304). The head also bounds what the replica
// follows: level-0 files past it, or a fenced-out writer's strays, are no history (issue 16).
//
// A location without head.json (written before it, or by Litestream) is looked at again only when
// recheck() says so (the replica's full listing), so such a replica pays no GET per poll.
//
// Single-threaded: the replica's planner (under its plan_mu_) alone calls it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "history/committed_history.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::replica {

class HeadWatch {
 public:
  HeadWatch(storage::ObjectStore& store, storage::LayoutStyle layout)
      : store_(store), layout_(layout) {}

  enum class Seen {
    kUnchanged,  // the same head as last time: nothing was committed since
    kChanged,    // a new head (or the first look)
    kNone,       // no head.json (or not a head): follow the listing alone
  };
  // One conditional GET (none while a head is known to be absent). Throws StoreError.
  Seen look();
  // The next look() reads head.json even if it was absent.
  void recheck() { absent_ = false; }
  // The newest committed TXID as last seen; nullopt without a head.
  std::optional<uint64_t> txid() const;
  // The files of `listed` that the head commits: all of them without a head.
  std::vector<history::RemoteFile> committed(std::vector<history::RemoteFile> listed) const;

 private:
  storage::ObjectStore& store_;
  const storage::LayoutStyle layout_;
  std::optional<history::ObservedHead> head_;
  bool absent_ = false;
};

}  // namespace ltxvfs::replica
