#include "ltx/decoded_file.h"

#include <algorithm>

#include "ltx/checksum.h"
#include "ltx/decoder.h"

namespace ltxvfs::ltx {

PageRuns::PageRuns(PageWriter& writer, std::uint32_t page_size)
    : writer_(writer), page_size_(page_size) {
  run_.reserve(kDecodeRunBytes + page_size);
}

std::span<std::uint8_t> PageRuns::add(std::uint32_t pgno) {
  if (!run_.empty() &&
      (pgno != first_ + run_.size() / page_size_ || run_.size() >= kDecodeRunBytes)) {
    flush();
  }
  if (run_.empty()) first_ = pgno;
  run_.resize(run_.size() + page_size_);
  return std::span(run_).last(page_size_);
}

void PageRuns::flush() {
  if (!run_.empty()) writer_.write_pages(first_, run_, page_size_);
  run_.clear();
}

DecodedFile decode_file(const Source& source, std::string name, PageDecompressor& decompressor,
                        PageWriter& writer) {
  Decoder dec(source, std::move(name), decompressor);
  dec.pages_only();  // what was written is discarded if the file fails (decoded_file.h)
  DecodedFile file;
  file.header = dec.header();
  PageRuns runs(writer, file.header.page_size);
  while (auto page = dec.next()) {
    std::ranges::copy(page->data, runs.add(page->pgno).begin());
    file.pgnos.push_back(page->pgno);
    file.sums.push_back(page->checksum != 0 ? page->checksum
                                            : page_checksum(page->pgno, page->data));
  }
  runs.flush();
  file.trailer = dec.trailer();
  return file;
}

}  // namespace ltxvfs::ltx
