// Whether two LTX files hold the same transactions: equal headers except the timestamp, equal
// pages, equal post-apply checksum. A conditional PUT that finds its key taken (412) asks this of
// the object there and its own: a batch rebuilt from the WAL after a crash, or a compaction run
// again, differs from the first upload only in its timestamp — anything else is another writer.
// Streams both (one page of each in memory); a file that does not decode is "not the same".
// Failing to read one (a storage::StoreError from the store or the body) is no answer: it is
// thrown, so the caller retries instead of taking a transient failure for another writer.
#pragma once

#include "ltx/source.h"

namespace ltxvfs::history {

bool same_transactions(const ltx::Source& a, const ltx::Source& b);

}  // namespace ltxvfs::history
