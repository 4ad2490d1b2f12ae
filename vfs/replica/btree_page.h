// The little the replica needs to know about SQLite's file format, without SQLite:
//  - how page 1 is presented (rollback mode, version from the TXID) — see present_header();
//  - the child pages of a b-tree interior page, and the root pages the schema names, for
//    prefetching (ltx/btree_page.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ltx/btree_page.h"

namespace ltxvfs::replica {

using ltx::kDbHeaderSize;

// Rewrites the database-header bytes that fall inside `out`, which holds bytes
// [offset, offset + out.size()) of the database file:
//   18-19  file format write/read version = 1, 1 (rollback journal: SQLite never looks for a WAL
//          or shared memory, so the replica needs no -shm and no WAL locks);
//   24-27  file change counter      = `counter`  (SQLite compares it at the start of every read
//   92-95  version-valid-for        = `counter`   transaction and drops its page cache when it
//                                                 changed: exactly when the TXID changed);
//   28-31  database size in pages   = `commit`  (trusted by SQLite when 92-95 == 24-27).
void present_header(std::span<uint8_t> out, uint64_t offset, uint32_t counter, uint32_t commit);

// The b-tree parsing is the format library's (ltx/btree_page.h): the writer reads page 1's schema
// too, to name its roots in the head.
using ltx::interior_children;
using ltx::kMaxSchemaRoots;
using ltx::schema_roots;

}  // namespace ltxvfs::replica
