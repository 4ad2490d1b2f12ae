// Junk under the LTX layout: an object named like an LTX file whose bytes are no LTX file at all
// (they do not start with the "LTX1" magic). It is part of no history — no restore can read it —
// so a writer may replace it where its own upload goes, and it never counts as a newer history
// that would stop the writer from opening (issue 16, item 7: one junk object named past the
// newest TXID made the primary refuse to open its own database). Anything that starts as an LTX
// file but fails later checks is not junk: it may be another writer's, and stays a conflict.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "history/restore_plan.h"
#include "storage/object_store.h"

namespace ltxvfs::history {

// `size`: the object's, from a listing or a HEAD. One ranged GET of at most the header's bytes
// (none for an empty object). Store errors propagate (kNotFound included).
bool is_junk_object(storage::ObjectStore& store, const std::string& key, uint64_t size);

// Leaves the junk objects out of `files`, looking only at those ending at or after `from_txid`
// (one small GET each; normally there are none there). `on_junk` hears of each one left out.
void drop_junk_objects(storage::ObjectStore& store, std::vector<RemoteFile>& files,
                       uint64_t from_txid,
                       const std::function<void(const RemoteFile&)>& on_junk = {});

}  // namespace ltxvfs::history
