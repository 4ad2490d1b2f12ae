// A directory of a page index: every ~64 KiB of the index's varints, where an entry starts, which
// page it names and where that page's frame lies. With it a reader fetches the part of a large
// index that covers one page (one ranged GET of ~64 KiB) instead of the whole index: a 1 GiB
// snapshot's index is ~2 MiB (issue 17: an open of at most 256 KiB whatever the database's size).
//
// A part read through the directory is checked as strictly as parse_file_tail checks a whole
// index: the marks ascend and start at the first frame (byte 100); a part's entries ascend from
// its mark's page and lie contiguously from its mark's frame offset to the next mark's (or to the
// end of the page area), its varints end exactly at the next mark (or with the terminator), and
// the entry there is the next mark's page at the next mark's frame offset.
// So the parts of a file tile all of its frames: a part cannot leave a page out unnoticed, and a
// reader that finds no entry for a page in the part covering it knows the file does not hold it.
// A mark that is wrong (a stale or foreign directory) fails those checks; it never makes a page
// look absent.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ltx/page_index.h"

namespace ltxvfs::ltx {

struct IndexMark {
  std::uint32_t pgno = 0;          // the page the entry at index_offset names
  std::uint64_t index_offset = 0;  // from the start of the index's varint area
  std::uint64_t frame_offset = 0;  // of that page's frame in the file
  bool operator==(const IndexMark&) const = default;
};

// Where the parts of an index are: the first bytes of a directory's reader's arithmetic.
struct IndexArea {
  std::uint64_t start = 0;      // file offset of the varint area
  std::uint64_t length = 0;     // of the varint area, terminator included
  std::uint64_t pages_end = 0;  // file offset of the end marker (where the last frame ends)
};

// The varint area of a file of `file_size` bytes whose tail (from its page index's end marker
// to its end) is `tail_bytes` long (index_tail_bytes).
IndexArea index_area(std::uint64_t file_size, std::uint64_t tail_bytes);

// The directory of `index`: a mark at its first entry, then one at the first entry that starts
// `every` bytes or more after the previous mark. Empty for an empty index.
std::vector<IndexMark> index_directory(const PageIndex& index, std::uint64_t every);

// Whether `marks` can be a directory of an index laid out as `area` says: not empty, the first at
// index offset 0 and frame offset kHeaderSize, all three fields strictly ascending, within the
// area and the page area.
bool directory_fits(std::span<const IndexMark> marks, const IndexArea& area);

// The bytes of part `part` of the index: [start, end) of the file. A reader reads [start,
// read_end): past a part that is not the last, the next part's first entry too (at most 30
// bytes), which its parse checks against the next mark, so that a mark whose page is too high
// cannot make the pages below it look absent from the part before it.
struct IndexPartRange {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  std::uint64_t read_end = 0;
};
IndexPartRange index_part_range(std::span<const IndexMark> marks, const IndexArea& area,
                                std::size_t part);

// The part of `marks` whose pages cover `pgno`: the last mark at or below it, and the first part
// for a page below every mark. That part's entries decide whether the file holds the page: the
// first part starts at the index's first entry, and its parse checks that the entry is the
// first mark's page, so a directory whose first mark is too high cannot hide a page below it.
std::size_t index_part_of(std::span<const IndexMark> marks, std::uint32_t pgno);

// The entries of part `part`, from its bytes [start, read_end) (index_part_range), checked as the
// file's comment says. Throws LtxError(kBadIndex) naming `file_name` when they do not fit.
std::vector<PageIndexEntry> parse_index_part(std::span<const std::uint8_t> bytes,
                                             std::span<const IndexMark> marks,
                                             const IndexArea& area, std::size_t part,
                                             std::string_view file_name = {});

}  // namespace ltxvfs::ltx
