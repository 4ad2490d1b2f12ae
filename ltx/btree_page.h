// The little of SQLite's b-tree page format that LTX readers and writers use without SQLite
// (SQLite's file format document, sections 1.6 and 2): the child pages of an interior page, and
// the root pages page 1's schema names. A replica prefetches along them; a writer tells replicas
// where the newest version of each root lies (history/head_record.h, roots), so the first query
// of a cold replica finds them cached.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ltxvfs::ltx {

// SQLite's database header at the start of page 1 (not the LTX header, though both are 100).
inline constexpr uint32_t kDbHeaderSize = 100;

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
// How many of them a replica fetches ahead when page 1 is read (a schema of more tables and
// indexes gets its first).
inline constexpr size_t kMaxSchemaRoots = 64;

}  // namespace ltxvfs::ltx
