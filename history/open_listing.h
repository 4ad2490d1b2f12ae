// The writer's listings (issue 16, item 10): read_history() for a program that opens a database
// for one statement, thousands of times, while level 0 holds thousands of files (the uploads of
// the last retention_grace, kept for readers after level 1 compacted them). Used by the open's
// check of the store, whose listing the history's first run takes over (the uploader's first
// step reads less: read_history_by_key below).
//
// They need every file's TXIDs, but the size and time of only some: the files above level 0 (a
// few hundred at most), the level-0 files level 1 has not compacted yet (what the history
// compacts next, and restore points), and those ending at or after `dated_from_txid` (what the
// caller checks for junk). A level-0 file a level-1 file holds is only waiting for retention,
// which needs no more than an upper bound of its commit time: the level-1 file's time is one.
// So the store is listed by key (ObjectStore::list_keys(): on a directory, no stat call per
// file), each of those compacted level-0 files gets the size 0 and the time of the level-1 file
// holding it, and every other file the store left undated is asked for its size and time
// (head(): one stat call on a directory; S3's listing has them all).
#pragma once

#include <cstdint>
#include <vector>

#include "history/committed_history.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {

// read_history() (head.json, then one listing by key), dated as above; the files past the head
// and the strays are all dated (there are few, and retention times the strays' deletion).
History read_history_dated_from(storage::ObjectStore& store, storage::LayoutStyle layout,
                                uint64_t dated_from_txid);

// head.json, then one listing by key: every file's TXIDs, and no size or time (0) but where the
// store's listing has them (S3's). For a caller that decides from TXIDs alone and dates the few
// files it looks closer at (date_files_from): the uploader's first step (HeadKeeper::take), which
// no history run takes over. A program that opens, writes and closes a database thousands of
// times pays it at every close, and a directory store's stat call per level-0 file level 1 has
// not compacted yet was a third of such a cycle's CPU time at 2,000 files (bench/RESULTS.md,
// eighth session).
History read_history_by_key(storage::ObjectStore& store, storage::LayoutStyle layout);

// Asks the store for the size and time of the files ending at or after `from_txid` that have
// none; a file gone meanwhile is left out.
void date_files_from(storage::ObjectStore& store, std::vector<RemoteFile>& files,
                     uint64_t from_txid);

}  // namespace ltxvfs::history
