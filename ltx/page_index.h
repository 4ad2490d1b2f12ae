// The page index: after the all-zero page header, for each stored page in ascending order the
// varints pgno, absolute frame offset, frame size (header + size prefix + payload); then varint 0;
// then a u64 BE with the length of that varint area (terminator included). It lets a remote
// reader fetch any page with two ranged reads: the file's tail (parse_file_tail), then the frame
// (decode_frame in page_frame.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "ltx/header.h"

namespace ltxvfs::ltx {

struct PageIndexEntry {
  std::uint32_t pgno = 0;
  std::uint64_t offset = 0;  // of the frame's page header, from the start of the file
  std::uint64_t size = 0;    // of the whole frame
  bool operator==(const PageIndexEntry&) const = default;
};

struct PageIndex {
  std::vector<PageIndexEntry> entries;  // ascending pgno

  // nullptr when the file does not hold `pgno`. Binary search.
  const PageIndexEntry* find(std::uint32_t pgno) const;
};

// The u64 index length plus the trailer: the least any tail read must cover.
inline constexpr std::size_t kIndexLengthSize = 8;
inline constexpr std::size_t kMinTailSize = kIndexLengthSize + kTrailerSize;
// What a remote reader should fetch first: enough for the index of 6,000-9,000 pages in one
// request.
inline constexpr std::size_t kDefaultTailFetch = 64 * 1024;

// Writing an index: append_page_index_entry() for each frame, in order (into one buffer or a
// sequence of blocks), then finish_page_index() appends the terminator and the u64 length to
// the last block; `bytes_before` is the size of the blocks before it.
void append_page_index_entry(std::vector<std::uint8_t>& out, const PageIndexEntry& entry);
void finish_page_index(std::vector<std::uint8_t>& last_block, std::uint64_t bytes_before);

// One element read from the front of an index varint area: an entry, or the terminator.
struct IndexElement {
  bool terminator = false;
  PageIndexEntry entry;
  std::size_t length = 0;  // bytes consumed
};

// Reads one element from `in`. Malformed varints and page numbers above 2^32-1 are kBadIndex.
// When `in` ends inside the element: kTruncated if `input_ends_file`, else kBadIndex (the
// element runs past the area's declared length).
IndexElement read_index_element(std::span<const std::uint8_t> in, bool input_ends_file,
                                std::string_view file_name = {});

// What parse_file_tail found.
struct FileTail {
  PageIndex index;
  Trailer trailer;
  std::uint64_t pages_end = 0;  // offset of the all-zero page header that ends the page area
};

// The tail was too short: fetch at least this many bytes from the end of the file and retry.
struct NeedTailBytes {
  std::uint64_t bytes = 0;
};

// Parses the index and trailer from the last `tail.size()` bytes of a file of `file_size` bytes.
// Checks the index's own layout: strictly ascending pages, frames contiguous from byte 100 up to
// the end marker, the end marker itself (kBadIndex). It cannot check the file checksum; a reader
// that needs that decodes the whole file.
std::variant<FileTail, NeedTailBytes> parse_file_tail(std::span<const std::uint8_t> tail,
                                                      std::uint64_t file_size,
                                                      std::string_view file_name = {});

// How many bytes from the end of a file of `file_size` bytes hold its page index (what
// parse_file_tail asks for), from the file's last kMinTailSize bytes; 0 when they are not an LTX
// tail. Writers record it so that readers fetch exactly that (history/head_record.h).
std::uint64_t index_tail_bytes(std::span<const std::uint8_t> last, std::uint64_t file_size);

}  // namespace ltxvfs::ltx
