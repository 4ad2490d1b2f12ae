#include "ltx/page_index.h"

#include <algorithm>
#include <limits>
#include <string>
#include <variant>

#include "base/byte_order.h"
#include "ltx/error.h"
#include "ltx/page_frame.h"
#include "ltx/varint.h"

namespace ltxvfs::ltx {
namespace {

// Smallest possible file: header, end marker, a 1-byte varint area, index length, trailer.
constexpr std::uint64_t kMinFileSize = kHeaderSize + kPageHeaderSize + 1 + kMinTailSize;

[[noreturn]] void bad_index(std::string_view file, const std::string& detail) {
  throw LtxError(LtxErrorKind::kBadIndex, file, "page index: " + detail);
}

}  // namespace

const PageIndexEntry* PageIndex::find(std::uint32_t pgno) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), pgno,
                             [](const PageIndexEntry& e, std::uint32_t p) { return e.pgno < p; });
  return it != entries.end() && it->pgno == pgno ? &*it : nullptr;
}

void append_page_index_entry(std::vector<std::uint8_t>& out, const PageIndexEntry& e) {
  append_uvarint(out, e.pgno);
  append_uvarint(out, e.offset);
  append_uvarint(out, e.size);
}

void finish_page_index(std::vector<std::uint8_t>& out, std::uint64_t bytes_before) {
  append_uvarint(out, 0);
  const std::uint64_t length = bytes_before + out.size();
  out.resize(out.size() + kIndexLengthSize);
  base::store_be64(out.data() + out.size() - kIndexLengthSize, length);
}

IndexElement read_index_element(std::span<const std::uint8_t> in, bool input_ends_file,
                                std::string_view file_name) {
  static constexpr const char* kFields[] = {"page number", "frame offset", "frame size"};
  std::uint64_t values[3] = {};
  std::size_t pos = 0;
  for (int field = 0; field < 3; ++field) {
    const VarintRead r = read_uvarint(in.subspan(pos));
    switch (r.status) {
      case VarintStatus::kOk:
        break;
      case VarintStatus::kTruncated:
        if (input_ends_file) {
          throw LtxError(
              LtxErrorKind::kTruncated, file_name,
              std::string("file ends inside the page index (reading a ") + kFields[field] + ")");
        }
        bad_index(file_name,
                  std::string("a ") + kFields[field] + " runs past the index's declared length");
      case VarintStatus::kOverflow:
        bad_index(file_name, std::string(kFields[field]) + " varint overflows 64 bits");
      case VarintStatus::kNonCanonical:
        bad_index(file_name, std::string(kFields[field]) + " varint has redundant zero bytes");
    }
    values[field] = r.value;
    pos += r.length;
    if (field == 0 && r.value == 0) return IndexElement{true, {}, pos};
  }
  if (values[0] > std::numeric_limits<std::uint32_t>::max()) {
    bad_index(file_name, "page number " + std::to_string(values[0]) + " exceeds 32 bits");
  }
  return IndexElement{false, {static_cast<std::uint32_t>(values[0]), values[1], values[2]}, pos};
}

std::variant<FileTail, NeedTailBytes> parse_file_tail(std::span<const std::uint8_t> tail,
                                                      std::uint64_t file_size,
                                                      std::string_view file_name) {
  if (tail.size() > file_size) {
    throw LtxError(LtxErrorKind::kInvalidArgument, file_name,
                   "tail of " + std::to_string(tail.size()) + " bytes is longer than the file (" +
                       std::to_string(file_size) + " bytes)");
  }
  if (file_size < kMinFileSize) {
    throw LtxError(LtxErrorKind::kTruncated, file_name,
                   "file is " + std::to_string(file_size) + " bytes; the smallest LTX file is " +
                       std::to_string(kMinFileSize));
  }
  if (tail.size() < kMinTailSize) return NeedTailBytes{kMinTailSize};

  const std::uint8_t* end = tail.data() + tail.size();
  const std::uint64_t length = base::load_be64(end - kMinTailSize);
  const std::uint64_t max_length = file_size - kMinFileSize + 1;
  if (length == 0 || length > max_length) {
    bad_index(file_name, "length field says " + std::to_string(length) + " bytes; a file of " +
                             std::to_string(file_size) + " bytes has room for 1.." +
                             std::to_string(max_length));
  }
  // Also take the end marker in, so that it is checked too.
  const std::uint64_t needed = length + kMinTailSize + kPageHeaderSize;
  if (tail.size() < needed) return NeedTailBytes{needed};

  FileTail out;
  out.pages_end = file_size - needed;
  const auto marker = tail.subspan(tail.size() - needed, kPageHeaderSize);
  if (std::any_of(marker.begin(), marker.end(), [](std::uint8_t b) { return b != 0; })) {
    bad_index(file_name, "no all-zero page header at offset " + std::to_string(out.pages_end) +
                             " just before the index");
  }

  auto area = tail.subspan(tail.size() - length - kMinTailSize, length);
  std::uint64_t next_offset = kHeaderSize;
  for (;;) {
    const IndexElement el = read_index_element(area, /*input_ends_file=*/false, file_name);
    area = area.subspan(el.length);
    if (el.terminator) break;
    const PageIndexEntry& e = el.entry;
    if (!out.index.entries.empty() && e.pgno <= out.index.entries.back().pgno) {
      bad_index(file_name, "page " + std::to_string(e.pgno) + " follows page " +
                               std::to_string(out.index.entries.back().pgno) +
                               " (entries must ascend)");
    }
    if (e.offset != next_offset) {
      bad_index(file_name, "frame of page " + std::to_string(e.pgno) + " is at offset " +
                               std::to_string(e.offset) + ", expected " +
                               std::to_string(next_offset) + " (frames are contiguous)");
    }
    if (e.size <= kPageHeaderSize || e.size > out.pages_end - e.offset) {
      bad_index(file_name, "frame of page " + std::to_string(e.pgno) + " has size " +
                               std::to_string(e.size) + ", which does not fit between offset " +
                               std::to_string(e.offset) + " and the end of the page area at " +
                               std::to_string(out.pages_end));
    }
    next_offset = e.offset + e.size;
    out.index.entries.push_back(e);
  }
  if (!area.empty()) {
    bad_index(file_name, std::to_string(area.size()) +
                             " bytes follow the terminator inside the declared index length");
  }
  if (next_offset != out.pages_end) {
    bad_index(file_name, "frames end at offset " + std::to_string(next_offset) +
                             " but the page area ends at " + std::to_string(out.pages_end));
  }
  out.trailer = Trailer::decode(
      std::span<const std::uint8_t, kTrailerSize>(end - kTrailerSize, kTrailerSize));
  return out;
}

std::uint64_t index_tail_bytes(std::span<const std::uint8_t> last, std::uint64_t file_size) {
  if (last.size() != kMinTailSize || file_size < kMinTailSize) return 0;
  try {
    const auto parsed = parse_file_tail(last, file_size);
    if (const auto* need = std::get_if<NeedTailBytes>(&parsed)) return need->bytes;
  } catch (const LtxError&) {
    // Not an LTX tail: no hint.
  }
  return 0;
}

}  // namespace ltxvfs::ltx
