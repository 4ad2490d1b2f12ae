// An LTX file decoded and verified on one thread, its pages written as they came, for a
// ChainApplier on another. Decoding (decompression and the CRC passes over every page) is ~all of a
// restore's CPU, and writing the pages into the page cache most of the rest: many threads decode
// and write files while one thread applies them in order, which is only checks and accounting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ltx/header.h"
#include "ltx/page_codec.h"
#include "ltx/page_writer.h"
#include "ltx/source.h"

namespace ltxvfs::ltx {

// What ChainApplier needs of a decoded file: 12 bytes a page.
struct DecodedFile {
  Header header;
  Trailer trailer;
  std::vector<std::uint32_t> pgnos;  // strictly ascending, as in the file
  std::vector<std::uint64_t> sums;   // page_checksum() of each page
};

// The most a run of consecutive pages is gathered to before it is written.
inline constexpr std::size_t kDecodeRunBytes = std::size_t{1} << 20;

// Consecutive pages gathered into runs of up to kDecodeRunBytes, each written with one
// write_pages(): one pwrite per page was half a restore's kernel time.
class PageRuns {
 public:
  PageRuns(PageWriter& writer, std::uint32_t page_size);
  // Room for page `pgno`, to be filled before the next call: at the end of the current run, or of
  // a new one once `pgno` does not follow it or it is full (the current run written first).
  std::span<std::uint8_t> add(std::uint32_t pgno);
  // Writes the current run.
  void flush();

 private:
  PageWriter& writer_;
  const std::uint32_t page_size_;
  std::vector<std::uint8_t> run_;  // pages first_, first_ + 1, ..., not written yet
  std::uint32_t first_ = 0;
};

// Decodes `source`, writing its pages to `writer` as they come (each run of consecutive pages with
// one write_pages, up to kDecodeRunBytes), and verifies everything Decoder verifies (the file
// checksum included) before returning. The pages are written before the file checksum at the end
// is known: if this throws, what it wrote must be discarded (a restore writes a temporary file,
// which it removes). Holds one run of pages, never the file's.
DecodedFile decode_file(const Source& source, std::string name, PageDecompressor& decompressor,
                        PageWriter& writer);

}  // namespace ltxvfs::ltx
