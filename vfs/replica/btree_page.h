// The little the replica needs to know about SQLite's file format, without SQLite:
//  - how page 1 is presented (rollback mode, version from the TXID) — see present_header();
//  - the child pages of a b-tree interior page, and the root pages the schema names, for
//    prefetching.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ltxvfs::replica {

inline constexpr uint32_t kDbHeaderSize = 100;

// Rewrites the database-header bytes that fall inside `out`, which holds bytes
// [offset, offset + out.size()) of the database file:
//   18-19  file format write/read version = 1, 1 (rollback journal: SQLite never looks for a WAL
//          or shared memory, so the replica needs no -shm and no WAL locks);
//   24-27  file change counter      = `counter`  (SQLite compares it at the start of every read
//   92-95  version-valid-for        = `counter`   transaction and drops its page cache when it
//                                                 changed: exactly when the TXID changed);
//   28-31  database size in pages   = `commit`  (trusted by SQLite when 92-95 == 24-27).
void present_header(std::span<uint8_t> out, uint64_t offset, uint32_t counter, uint32_t commit);

// The child page numbers of a table (0x05) or index (0x02) interior b-tree page, left to right
// (the right-most pointer last); empty for any other page or a malformed one. Page 1's b-tree
// header starts after the 100-byte database header.
std::vector<uint32_t> interior_children(std::span<const uint8_t> page, uint32_t pgno);

// The root pages (`rootpage` column) of the sqlite_schema rows stored on `page1` when it is a
// table leaf (a schema that fits on page 1: most databases), in cell order, at most `max`; rows
// whose rootpage is not in the cell's local part, and anything malformed, are skipped. Every
// query starts at one of these pages, so a cold replica fetches them at open instead of one
// round trip each, later, on the query's path.
std::vector<uint32_t> schema_roots(std::span<const uint8_t> page1, size_t max);
// How many of them are fetched ahead when page 1 is read (a schema of more tables and indexes
// gets its first).
inline constexpr size_t kMaxSchemaRoots = 64;

}  // namespace ltxvfs::replica
