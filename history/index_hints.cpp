#include "history/index_hints.h"

#include <algorithm>
#include <array>
#include <exception>
#include <functional>

#include "ltx/btree_page.h"
#include "ltx/header.h"
#include "ltx/page_frame.h"
#include "ltx/page_index.h"

namespace ltxvfs::history {
namespace {

// Calls `visit` with each entry of the page index whose varints are bytes [at, end) of `body` and
// where in them it starts, until it returns false or the index ends. Reads 64 KiB at a time: a 1 GB
// snapshot's index is ~2.5 MB, and its uploader runs inside the writing process, whose memory stays
// within a few MiB of plain SQLite's (W7).
void walk_index(const storage::BodySource& body, uint64_t at, uint64_t end,
                const std::function<bool(const ltx::PageIndexEntry&, uint64_t)>& visit) {
  constexpr size_t kPiece = 64 * 1024;
  constexpr size_t kLongestEntry = 30;  // three varints of at most 10 bytes
  std::vector<uint8_t> buffer;
  size_t used = 0;
  uint64_t consumed = 0;  // of the area, before buffer[used]
  for (;;) {
    if (buffer.size() - used < kLongestEntry && at < end) {
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(used));
      used = 0;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kPiece, end - at));
      buffer.resize(buffer.size() + n);
      body.read_at(at, std::span(buffer).last(n));
      at += n;
    }
    if (used == buffer.size()) return;
    const ltx::IndexElement el =
        ltx::read_index_element(std::span(buffer).subspan(used), /*input_ends_file=*/at == end);
    if (el.terminator || !visit(el.entry, consumed)) return;
    used += el.length;
    consumed += el.length;
  }
}

// The roots the schema on page 1 names, from its frame at `p1`; nullopt when it does not decode
// (an encrypted frame whose key this process has not registered, a malformed file).
std::optional<std::vector<uint32_t>> schema_of(const storage::BodySource& body,
                                               const ltx::PageIndexEntry& p1) {
  try {
    std::array<uint8_t, ltx::kHeaderSize> head{};
    body.read_at(0, head);
    const ltx::Header h = ltx::Header::decode(head);
    h.validate();
    std::vector<uint8_t> frame(p1.size);
    body.read_at(p1.offset, frame);
    const std::vector<uint8_t> page = ltx::decode_frame(
        frame, 1, h.page_size, {}, ltx::FrameFile{h.min_txid, h.max_txid, h.database_id});
    return ltx::schema_roots(page, kMaxSchemaRootHints);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

IndexHints index_hints_of(const storage::BodySource& body, std::span<const uint32_t> wanted,
                          uint64_t directory_from, uint64_t part_bytes) {
  IndexHints hints;
  std::array<uint8_t, ltx::kMinTailSize> last{};
  if (body.size() < last.size()) return hints;
  try {
    body.read_at(body.size() - last.size(), last);
    hints.tail_bytes = ltx::index_tail_bytes(last, body.size());
    if (hints.tail_bytes < ltx::kMinTailSize + ltx::kPageHeaderSize ||
        hints.tail_bytes > body.size()) {
      hints.tail_bytes = 0;
      return hints;
    }
    // The varints between the end marker and the index's length.
    const uint64_t index_at = body.size() - hints.tail_bytes + ltx::kPageHeaderSize;
    const uint64_t index_end = body.size() - ltx::kMinTailSize;
    std::vector<uint32_t> pages(wanted.begin(), wanted.end());
    std::sort(pages.begin(), pages.end());
    bool first = true;
    // A long index is walked to its end for its directory; otherwise the walk ends past the last
    // page wanted (entries ascend by page number), which for the schema's roots is near the start
    // of a snapshot's index.
    const bool directory = index_end - index_at > directory_from && part_bytes > 0;
    part_bytes = std::max(part_bytes, (index_end - index_at) / kMaxIndexMarks + 1);
    walk_index(body, index_at, index_end, [&](const ltx::PageIndexEntry& e, uint64_t at) {
      if (directory &&
          (hints.directory.empty() || at - hints.directory.back().index_offset >= part_bytes)) {
        hints.directory.push_back({e.pgno, at, e.offset});
      }
      if (e.offset > body.size() || e.size > body.size() - e.offset) return false;
      if (first && e.pgno == 1 && e.offset == ltx::kHeaderSize) {
        hints.page1_end = e.offset + e.size;
        hints.schema_roots = schema_of(body, e);
        if (hints.schema_roots) {
          pages.insert(pages.end(), hints.schema_roots->begin(), hints.schema_roots->end());
          std::sort(pages.begin(), pages.end());
        }
      }
      first = false;
      if (std::binary_search(pages.begin(), pages.end(), e.pgno)) {
        hints.frames.push_back({e.pgno, e.offset, e.size});
      }
      return directory || (!pages.empty() && e.pgno < pages.back());
    });
    if (!hints.directory.empty() &&
        !ltx::directory_fits(hints.directory, ltx::index_area(body.size(), hints.tail_bytes))) {
      hints.directory.clear();
    }
  } catch (const std::exception&) {
    // No more hints than were read; a directory only whole.
    hints.directory.clear();
  }
  return hints;
}

}  // namespace ltxvfs::history
