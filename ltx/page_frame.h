// One page frame: a 6-byte page header (pgno u32 BE, flags u16 BE) followed by the payload of
// the encoding the flags name (page_codec.h). An all-zero page header ends the page area.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ltx/page_codec.h"

namespace ltxvfs::ltx {

inline constexpr std::size_t kPageHeaderSize = 6;

struct PageHeader {
  std::uint32_t pgno = 0;
  std::uint16_t flags = 0;

  bool is_end_marker() const { return pgno == 0 && flags == 0; }
  std::array<std::uint8_t, kPageHeaderSize> encode() const;
  static PageHeader decode(std::span<const std::uint8_t, kPageHeaderSize> bytes);
};

// Decodes the page stored in `frame`, which must be exactly one frame's bytes as the page index
// locates them (offset, size): this is the random-access read. Checks that the frame holds
// `expected_pgno` and that its payload fills the frame exactly and decompresses to exactly
// `page.size()` bytes. Accepts every encoding this library knows; whether the file was allowed to
// use a native one is the whole-file decoder's business.
//
// An encrypted frame is opened with the registered key it names, and its tag must bind it to
// `expected_pgno`, the page size and `file`: the TXID range of the file the frame was read from
// (the caller knows it from the object's name) and the id of the database whose history the
// caller reads (a replica: from the header of its newest file). With no range it is
// kInvalidArgument.
struct FrameFile {
  std::uint64_t min_txid = 0;
  std::uint64_t max_txid = 0;
  std::uint64_t database_id = 0;
};
void decode_frame(std::span<const std::uint8_t> frame, std::uint32_t expected_pgno,
                  std::span<std::uint8_t> page, PageDecompressor& decompressor,
                  std::string_view file_name = {}, FrameFile file = {});

// Convenience for one-off reads: allocates the page and a decompressor.
std::vector<std::uint8_t> decode_frame(std::span<const std::uint8_t> frame,
                                       std::uint32_t expected_pgno, std::uint32_t page_size,
                                       std::string_view file_name = {}, FrameFile file = {});

}  // namespace ltxvfs::ltx
