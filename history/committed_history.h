// Which LTX files of a replica location are its history: those its head (head.json,
// history/head_record.h) commits. Every reader — restore, replicas, `ltxvfs ls`, the history
// engine's compaction and retention — goes through read_history (or list_ltx_files, its files),
// so a file a fenced-out writer PUT after losing ownership is part of no restore (issue 16,
// item 3).
#pragma once

#include <optional>
#include <vector>

#include "history/head_record.h"
#include "history/restore_plan.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {

struct History {
  std::vector<RemoteFile> files;      // the history, sorted as list_ltx_files sorts
  std::vector<RemoteFile> past_head;  // files past head.txid: PUT, not committed (yet)
  std::vector<RemoteFile> strays;     // level-0 files across a takeover point not named there
  std::optional<HeadRecord> head;     // nullopt: no head.json, or not a head (garbage)
  bool head_garbage = false;          // head.json exists but is no head
  std::string head_etag;
};

// Splits `all` (one listing) by `head` as described in head_record.h. Pure: tested alone.
History committed_history(std::vector<RemoteFile> all, const std::optional<ObservedHead>& head);

// Reads head.json, then lists: in that order, so every file the head commits is in the listing
// (S3 and directories list what was written before). Throws StoreError.
History read_history(storage::ObjectStore& store, storage::LayoutStyle layout);

// A reader's read_history in one round trip instead of two: head.json and the listing are read
// side by side. The listing may then lack a file committed between the two reads (the history
// read is a committed state older than the head, and a reader catches up at its next poll); it
// never makes an uncommitted file count (files past the head are set aside as always, strays
// by the head's takeover points). A writer deciding what the store holds uses read_history.
// Throws StoreError.
History read_history_side_by_side(storage::ObjectStore& store, storage::LayoutStyle layout);

// Every LTX object under the location, committed or not, sorted by level, then min TXID.
// `keys_only`: from ObjectStore::list_keys(), so a file may come without its size and time (both
// 0; history/open_listing.h dates what it needs).
std::vector<RemoteFile> list_all_ltx_files(storage::ObjectStore& store, storage::LayoutStyle layout,
                                           bool keys_only = false);

}  // namespace ltxvfs::history
