// A whole LTX file decoded and verified in memory, ready for ChainApplier. Decoding (decompression
// and the CRC passes over every page) is ~all of a restore's CPU; a DecodedFile lets many threads
// decode files while one thread applies them in order, and lets the applier write runs of pages
// with one pwrite each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ltx/header.h"
#include "ltx/page_codec.h"
#include "ltx/source.h"

namespace ltxvfs::ltx {

struct DecodedFile {
  Header header;
  Trailer trailer;
  std::vector<std::uint32_t> pgnos;  // strictly ascending, as in the file
  std::vector<std::uint64_t> sums;   // page_checksum() of each page
  std::vector<std::uint8_t> pages;   // pgnos.size() pages of header.page_size bytes, in order

  std::span<const std::uint8_t> page(std::size_t i) const {
    return std::span(pages).subspan(i * header.page_size, header.page_size);
  }
};

// Decodes `source` and verifies everything Decoder verifies (the file checksum included) before
// returning. Returns nullopt, having verified nothing, when its pages would take more than
// `max_page_bytes`: a few KB of zstd frames can stand for MBs of zero pages, so the size of the
// file does not bound its pages; apply such a file by streaming it instead.
std::optional<DecodedFile> decode_file(const Source& source, std::string name,
                                       PageDecompressor& decompressor, std::size_t max_page_bytes);

}  // namespace ltxvfs::ltx
