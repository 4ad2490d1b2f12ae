// Restore planning: which LTX files of a replica, applied in order, give the database at a TXID.
//
// A plan starts at a snapshot (min TXID 1) and continues with files whose TXID ranges are
// contiguous, drawn from any level. Among all such chains it takes one with the fewest files;
// among chains of equal length, the one whose first file is the newest snapshot, then larger
// files first, then higher levels (compactions and snapshots outlive the level-0 files they
// replace). Shared by the restore tool, the read replica and the history engine's retention.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {

struct RemoteFile {
  uint32_t level = 0;
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  std::string key;
  uint64_t size = 0;
  int64_t last_modified_ms = 0;
};

class RestoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The LTX files of the replica's history (head.json, then one listing), sorted by level, then min
// TXID: files its head does not commit are left out (history/committed_history.h).
std::vector<RemoteFile> list_ltx_files(storage::ObjectStore& store, storage::LayoutStyle layout);

// The file ending at the newest TXID not above `at_most` (ties: the widest, the one with the
// smallest min TXID, then the highest level), or null when there is none. Its header says what the
// history is now: its format, key id and database id (the writer's open, `ltxvfs status`,
// `compact`).
const RemoteFile* newest_file(const std::vector<RemoteFile>& files, uint64_t at_most = UINT64_MAX);

// The fewest-files chain to every TXID the files can restore (a breadth-first search over TXIDs:
// a file is an edge from its min TXID - 1 to its max TXID, snapshots start from 0). Built once,
// queried for any number of targets. Keeps a copy of the files.
class RestoreGraph {
 public:
  explicit RestoreGraph(std::vector<RemoteFile> files);

  const std::vector<RemoteFile>& files() const { return files_; }
  bool restorable(uint64_t txid) const { return via_.count(txid) != 0; }
  // The newest restorable TXID, 0 when nothing is.
  uint64_t newest() const { return via_.empty() ? 0 : via_.rbegin()->first; }
  // The newest stored TXID (restorable or not), 0 when there are no files.
  uint64_t newest_stored() const { return newest_stored_; }
  // Every restorable TXID, ascending.
  std::vector<uint64_t> restorable_txids() const;
  // The nearest restorable TXIDs strictly before / after `txid`.
  std::optional<uint64_t> restorable_before(uint64_t txid) const;
  std::optional<uint64_t> restorable_after(uint64_t txid) const;
  // The index into files() of the last file of the chain restoring `txid` (the chain goes on
  // from that file's min TXID - 1); nullopt if `txid` is not restorable.
  std::optional<size_t> chain_end(uint64_t txid) const;
  // Indexes into files() of the chain restoring `txid`, in apply order; empty if not restorable.
  std::vector<size_t> chain_indexes(uint64_t txid) const;
  // Indexes into files() of the files left out as the losing side of a fork: a file (not a
  // snapshot) that overlaps another of its level, where only the other lies on the chain to the
  // newest TXID. A writer that lost the lease while its PUT was in flight leaves such a file
  // (issue 16, item 3: A's ...2a-...2a beside B's ...2a-...33); its TXIDs are not B's history.
  const std::vector<size_t>& forked() const { return forked_; }
  // The chain restoring `txid`. Throws RestoreError saying why it cannot be restored and which
  // TXIDs nearby can.
  std::vector<RemoteFile> plan(uint64_t txid) const;

 private:
  std::string why_unreachable(uint64_t txid) const;
  // The breadth-first search over files_ minus forked_.
  void search();
  // Files of a level that overlap (forks), losers as forked() says; true when any was found.
  bool find_forks();

  std::vector<RemoteFile> files_;
  std::map<uint64_t, size_t> via_;  // restorable TXID -> the last file of its chain
  std::vector<size_t> forked_;
  uint64_t newest_stored_ = 0;
};

// The newest TXID a chain can reach (0 when the replica is empty). Files beyond a TXID gap are
// unreachable; `gap_after`, when given, receives the TXID after which the first gap lies (or 0).
uint64_t newest_restorable_txid(const std::vector<RemoteFile>& files,
                                uint64_t* gap_after = nullptr);

// The chain of files that restores the database at exactly `target_txid`. Throws RestoreError
// stating why no chain reaches it (newer than anything stored, no file ends there, no snapshot
// before it, a gap) and the nearest restorable TXIDs.
std::vector<RemoteFile> plan_restore(const std::vector<RemoteFile>& files, uint64_t target_txid);

// Parses a TXID as users may write it: decimal ("1234"), hexadecimal with 0x ("0x4d2"), or the
// 16 hex digits of LTX file names ("00000000000004d2"). nullopt for anything else and for 0.
std::optional<uint64_t> parse_txid(std::string_view text);

}  // namespace ltxvfs::history
