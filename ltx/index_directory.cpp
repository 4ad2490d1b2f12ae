#include "ltx/index_directory.h"

#include <algorithm>
#include <string>

#include "ltx/error.h"
#include "ltx/header.h"
#include "ltx/page_frame.h"

namespace ltxvfs::ltx {
namespace {

[[noreturn]] void bad_part(std::string_view file, std::size_t part, const std::string& detail) {
  throw LtxError(LtxErrorKind::kBadIndex, file,
                 "page index part " + std::to_string(part) + " (from the head's directory): " +
                     detail + "; the directory does not fit the file");
}

}  // namespace

IndexArea index_area(std::uint64_t file_size, std::uint64_t tail_bytes) {
  IndexArea a;
  if (tail_bytes < kMinTailSize + kPageHeaderSize || tail_bytes > file_size) return a;
  a.pages_end = file_size - tail_bytes;
  a.start = a.pages_end + kPageHeaderSize;
  a.length = tail_bytes - kPageHeaderSize - kMinTailSize;
  return a;
}

std::vector<IndexMark> index_directory(const PageIndex& index, std::uint64_t every) {
  std::vector<IndexMark> marks;
  std::vector<std::uint8_t> scratch;
  std::uint64_t at = 0;
  for (const PageIndexEntry& e : index.entries) {
    if (marks.empty() || at - marks.back().index_offset >= every) {
      marks.push_back({e.pgno, at, e.offset});
    }
    scratch.clear();
    append_page_index_entry(scratch, e);
    at += scratch.size();
  }
  return marks;
}

bool directory_fits(std::span<const IndexMark> marks, const IndexArea& area) {
  if (marks.empty() || area.length == 0) return false;
  if (marks[0].index_offset != 0 || marks[0].frame_offset != kHeaderSize || marks[0].pgno == 0) {
    return false;
  }
  for (std::size_t i = 1; i < marks.size(); ++i) {
    const IndexMark& a = marks[i - 1];
    const IndexMark& b = marks[i];
    if (b.pgno <= a.pgno || b.index_offset <= a.index_offset || b.frame_offset <= a.frame_offset) {
      return false;
    }
  }
  // The terminator is the area's last byte: every part holds at least one entry before it.
  return marks.back().index_offset < area.length - 1 && marks.back().frame_offset < area.pages_end;
}

IndexPartRange index_part_range(std::span<const IndexMark> marks, const IndexArea& area,
                                std::size_t part) {
  constexpr std::uint64_t kLongestEntry = 30;  // three varints of at most 10 bytes
  const bool last = part + 1 == marks.size();
  const std::uint64_t end = last ? area.length : marks[part + 1].index_offset;
  const std::uint64_t read_end = last ? end : std::min(end + kLongestEntry, area.length);
  return {area.start + marks[part].index_offset, area.start + end, area.start + read_end};
}

std::size_t index_part_of(std::span<const IndexMark> marks, std::uint32_t pgno) {
  const auto it = std::upper_bound(marks.begin(), marks.end(), pgno,
                                   [](std::uint32_t p, const IndexMark& m) { return p < m.pgno; });
  return it == marks.begin() ? 0 : static_cast<std::size_t>(it - marks.begin() - 1);
}

std::vector<PageIndexEntry> parse_index_part(std::span<const std::uint8_t> bytes,
                                             std::span<const IndexMark> marks,
                                             const IndexArea& area, std::size_t part,
                                             std::string_view file_name) {
  const bool last = part + 1 == marks.size();
  const IndexPartRange range = index_part_range(marks, area, part);
  if (bytes.size() != range.read_end - range.start) {
    bad_part(file_name, part,
             std::to_string(bytes.size()) + " bytes read of " +
                 std::to_string(range.read_end - range.start));
  }
  const auto next_entry = bytes.subspan(range.end - range.start);
  bytes = bytes.first(range.end - range.start);
  // Where this part's frames must end, and the page its successor starts at.
  const std::uint64_t frames_end = last ? area.pages_end : marks[part + 1].frame_offset;
  std::vector<PageIndexEntry> out;
  std::uint64_t next_offset = marks[part].frame_offset;
  bool ended = false;
  while (!bytes.empty()) {
    const IndexElement el = read_index_element(bytes, /*input_ends_file=*/false, file_name);
    bytes = bytes.subspan(el.length);
    if (el.terminator) {
      ended = true;
      break;
    }
    const PageIndexEntry& e = el.entry;
    if (out.empty() ? e.pgno != marks[part].pgno : e.pgno <= out.back().pgno) {
      bad_part(file_name, part,
               "page " + std::to_string(e.pgno) + " where the order needs " +
                   (out.empty() ? "page " + std::to_string(marks[part].pgno)
                                : "a page above " + std::to_string(out.back().pgno)));
    }
    if (!last && e.pgno >= marks[part + 1].pgno) {
      bad_part(file_name, part, "page " + std::to_string(e.pgno) + " belongs to the next part");
    }
    if (e.offset != next_offset || e.size <= kPageHeaderSize || e.size > frames_end - e.offset) {
      bad_part(file_name, part,
               "frame of page " + std::to_string(e.pgno) + " at " + std::to_string(e.offset) +
                   " (" + std::to_string(e.size) + " bytes) does not follow the one before it at " +
                   std::to_string(next_offset) + " within the part's frames");
    }
    next_offset = e.offset + e.size;
    out.push_back(e);
  }
  if (ended != last || !bytes.empty() || out.empty() || next_offset != frames_end) {
    bad_part(file_name, part, "its entries do not end where the part does");
  }
  if (!last) {
    const IndexElement next = read_index_element(next_entry, /*input_ends_file=*/false, file_name);
    if (next.terminator || next.entry.pgno != marks[part + 1].pgno ||
        next.entry.offset != marks[part + 1].frame_offset) {
      bad_part(file_name, part, "the entry after it is not the next mark's page and frame");
    }
  }
  return out;
}

}  // namespace ltxvfs::ltx
