// The head of a replica's history: head.json at the store root, the one object that says which
// LTX files are the history (issue 16, item 3). The lease says who *should* write; the head is
// what makes a write count, and only the current owner can change it.
//
//   {"txid":66,"generation":7,"owner":"host:123:9f2c…",
//    "points":[{"txid":43,"keys":["0000/000000000000002b-0000000000000033.ltx"]}],
//    "tails":[[0,65,66,48213,1043],[1,1,60,9301122,33686]]}
//
// - txid: the newest committed TXID. A level-0 file past it is not (yet) history: its writer
//   PUT it and then advances the head with If-Match of the etag it last wrote; a writer that lost
//   ownership meanwhile fails that condition, so its file is never committed.
// - points: takeover points. When a writer takes over at head TXID T, a writer fenced out at T
//   may still land one upload spanning T+1 (a PUT held in flight, issue 16 item 3: A's
//   `2a-2a` beside B's `2a-33`). Every level-0 file the owner commits across a point is
//   named under it, so a level-0 file spanning a point but not named there is the fenced
//   writer's, and readers leave it out. The newest kMaxPoints are kept; an older stray has
//   long been deleted by the owner's retention (history_engine.cpp).
// - generation, owner: the lease's, for people (`ltxvfs ls`) and messages; fencing uses etags.
// - page1 (optional): [level, min TXID, max TXID, object size, end] of the newest file the owner
//   uploaded that holds page 1, whose frame is the file's first (frames ascend from byte 100), so
//   bytes 0..end are its header and page 1. A replica's open reads them beside the page indexes
//   (and the roots' frames, below): its first query then finds page 1 cached, one round trip
//   fewer (issue 17, W4a and W4b). Only a hint, like the tails: the replica takes
//   page 1 from those bytes only when its plan locates page 1 exactly there.
// - roots (optional): [pgno, level, min TXID, max TXID, object size, offset, frame size] per root
//   page the newest page 1's schema names, in its order: where the newest version of each lies
//   (frame size 0: not known yet). A replica's open reads those frames in its second round trip,
//   beside page 1, so its first query starts below the root of its table or index, whichever
//   file last changed it (issue 17, W4b). The writer decodes page 1 when it uploads it
//   (index_hints_of); a hint the replica's plan does not confirm is only bytes.
// - tails (optional): [level, min TXID, max TXID, object size, tail bytes] of the newest files
//   the owner uploaded (level-0 files, compaction outputs, snapshots), where "tail bytes" is what a
//   replica's first ranged GET of that object must cover to read its page index
//   (ltx::parse_file_tail). A replica reads the head beside the listing, so with these it fetches
//   each index exactly, in one round trip, instead of guessing 64 KiB per object (issue 17: an open
//   of 29 files read 1.7 MiB). Only hints: a missing, stale or wrong one costs bytes or a second
//   GET, never a wrong page (the tail is parsed and checked as ever).
// - dirs (optional): [level, min TXID, max TXID, object size, [pgno, index offset, frame offset,
//   ...]] for the files among `tails` whose page index is long (history/index_hints.h: over
//   128 KiB, a 1 GiB snapshot's is ~2 MiB): the index's directory, a mark every 64 KiB
//   (ltx/index_directory.h). A replica's open then reads none of such an index, and a page
//   lookup later reads the one part that covers the page (issue 17: an open of at most 256 KiB
//   at any database size). Checked like the tails: a directory that does not fit its file fails
//   the part's checks and the replica reads the whole index instead.
//
// No head (a replica written before head.json, or by Litestream): every file counts, and
// overlapping files of a level are settled by RestoreGraph::forked alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "history/index_hints.h"
#include "history/restore_plan.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {

struct TakeoverPoint {
  uint64_t txid = 0;              // the first TXID of a new owner's tenure (head TXID + 1)
  std::vector<std::string> keys;  // level-0 files its owners committed across it
  bool operator==(const TakeoverPoint&) const = default;
};

// Where an LTX object's page index starts, counted from its end (see `tails` above).
struct TailHint {
  uint32_t level = 0;
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  uint64_t size = 0;        // of the object, as listed: a rewritten key of another size is not it
  uint64_t tail_bytes = 0;  // page index + its u64 length + trailer + the end marker before it
  // When page 1 is the file's first frame: where it ends (a head written before the roots hint
  // may reach over the frames right after it); 0: no page 1.
  uint64_t page1_end = 0;
  // The index's directory (index_hints.h: only for long indexes); empty: none.
  std::vector<ltx::IndexMark> directory{};
  bool operator==(const TailHint&) const = default;
};

// Whether `a` and `b` (each a TailHint, a RootHint or a RemoteFile) name the same object: the same
// level, TXIDs and size as listed. A key rewritten at another size is another object, and a hint
// about it says nothing of this one.
template <typename A, typename B>
bool same_object(const A& a, const B& b) {
  return a.level == b.level && a.min_txid == b.min_txid && a.max_txid == b.max_txid &&
         a.size == b.size;
}

// A schema root's newest frame: where a replica's open finds it, beside page 1 (see roots).
struct RootHint {
  uint32_t pgno = 0;
  uint32_t level = 0;  // the object holding it, as in TailHint
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  uint64_t size = 0;
  uint64_t offset = 0;      // of the frame in that object
  uint64_t frame_size = 0;  // 0: not known yet (no file uploaded since it became a root holds it)
  bool known() const { return frame_size != 0; }
  // Whether the frame lies in the object, after its header: what a hint read or found must say.
  bool frame_in_object() const;
  bool operator==(const RootHint&) const = default;
};

// The hint for `file` from what index_hints_of read of it.
inline TailHint tail_hint_of(const RemoteFile& file, const IndexHints& hints) {
  return {file.level,       file.min_txid,   file.max_txid,  file.size,
          hints.tail_bytes, hints.page1_end, hints.directory};
}

struct HeadRecord {
  static constexpr size_t kMaxPoints = 32;
  static constexpr size_t kMaxKeysPerPoint = 8;
  // Tail hints kept: up to kMaxTails while the files they name are no higher level's (a chain
  // uses them), and only kKeptTails once a compaction covers them. kKeptTails covers the
  // level-0 files a chain holds between two level-1 compactions (30 s of 1 s uploads by default)
  // twice over, and the compaction outputs and snapshot beside them; ~40 bytes each in the JSON,
  // so a head stays under 3 KiB. kMaxTails is for chains no compaction shortened yet: a 1 GiB
  // database loaded in 5 MB transactions is 225 level-0 files, and with 64 hints its open read
  // 64 KiB of each of the other 161 (10.7 MiB, issue 17). A head then holds up to ~10 KiB.
  static constexpr size_t kKeptTails = 64;
  static constexpr size_t kMaxTails = 256;
  // Schema roots named in the head: ~50 bytes each in the JSON. A replica's open reads at most
  // kRootBytes of their frames (index_cache.h), which a few roots fill.
  static constexpr size_t kMaxRoots = kMaxSchemaRootHints;

  uint64_t txid = 0;
  uint64_t generation = 0;
  std::string owner;
  std::vector<TakeoverPoint> points;  // oldest first
  std::vector<TailHint> tails;        // oldest first, at most kMaxTails (see kKeptTails)
  std::optional<TailHint> page1;      // tail_bytes unused
  std::vector<RootHint> roots;        // in the schema's order, at most kMaxRoots

  // Records `hint` as where page 1 is when it holds page 1 and is newer than page1 (at the same
  // TXID a higher level: a replica's plan prefers it).
  void note_page1(const TailHint& hint);

  // Records what `file`'s hints say about the schema's roots, after note_page1(file): when the
  // head's page 1 is now this file's, its schema names the roots (a root still named keeps its
  // location); a frame of a named root in this file replaces an older one (at the same TXID: a
  // higher level, as note_page1).
  void note_roots(const TailHint& file, const IndexHints& hints);
  std::vector<uint32_t> root_pgnos() const;

  // What a writer (or `ltxvfs compact`) learned of `file` just written: note_page1, note_roots
  // and, when its tail length is known and new, add_tail.
  void note_file(const TailHint& file, const IndexHints& hints);
  // note_file() for `file` with what index_hints_of read of it (an upload, a compaction output);
  // nothing when the hints say nothing.
  void note_written(const RemoteFile& file, const IndexHints& hints) {
    if (hints.says_something()) note_file(tail_hint_of(file, hints), hints);
  }
  // Whether `other` commits the same history under the same owner: TXID, owner, generation and
  // takeover points alike, whatever the hints. A head changed only in its hints is still ours.
  bool same_tenure(const HeadRecord& other) const {
    return txid == other.txid && owner == other.owner && generation == other.generation &&
           points == other.points;
  }

  // Records `hint`; beyond kKeptTails drops the oldest ones a higher level covers, and beyond
  // kMaxTails the oldest.
  void add_tail(const TailHint& hint);
  // The hint recorded for `file` (a TailHint or RemoteFile; same_object), or nullptr.
  template <typename File>
  const TailHint* tail_of(const File& file) const {
    for (auto it = tails.rbegin(); it != tails.rend(); ++it) {
      if (same_object(*it, file)) return &*it;
    }
    return nullptr;
  }
  // The tail bytes recorded for `file`, or 0.
  template <typename File>
  uint64_t tail_bytes(const File& file) const {
    const TailHint* hint = tail_of(file);
    return hint ? hint->tail_bytes : 0;
  }

  std::string to_json() const;
  // nullopt when `text` is not such an object (missing or mistyped fields, TXIDs past 2^63).
  static std::optional<HeadRecord> from_json(std::string_view text);
  // "TXID 66, owner host:123:9f2c… (generation 7)".
  std::string describe() const;
};

// head.json as read. `record` is nullopt when the object is there but is no head (garbage):
// readers then count every file, as without a head, and the next owner replaces it.
struct ObservedHead {
  std::optional<HeadRecord> record;
  std::string etag;
};

// nullopt when there is no head.json. Throws StoreError.
std::optional<ObservedHead> read_head(storage::ObjectStore& store, storage::LayoutStyle layout);

}  // namespace ltxvfs::history
