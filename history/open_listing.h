// The writer's listings (issue 16, item 10): read_history() for a program that opens a database
// for one statement, thousands of times, while level 0 holds thousands of files (the uploads of
// the last retention_grace, kept for readers after level 1 compacted them). Used by the open's
// check of the store, whose listing the history's first run takes over, and by the uploader's
// first step.
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

}  // namespace ltxvfs::history
