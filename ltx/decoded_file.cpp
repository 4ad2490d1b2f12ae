#include "ltx/decoded_file.h"

#include "ltx/checksum.h"
#include "ltx/decoder.h"

namespace ltxvfs::ltx {

DecodedFile decode_file(const Source& source, std::string name, PageDecompressor& decompressor,
                        PageWriter& writer) {
  Decoder dec(source, std::move(name), decompressor);
  dec.pages_only();  // what was written is discarded if the file fails (decoded_file.h)
  DecodedFile file;
  file.header = dec.header();
  const std::size_t ps = file.header.page_size;
  std::vector<std::uint8_t> run;  // consecutive pages from `first`, not written yet
  run.reserve(kDecodeRunBytes);
  std::uint32_t first = 0;
  auto flush = [&] {
    if (!run.empty()) writer.write_pages(first, run, static_cast<std::uint32_t>(ps));
    run.clear();
  };
  while (auto page = dec.next()) {
    if (!run.empty() && (page->pgno != first + run.size() / ps || run.size() >= kDecodeRunBytes)) {
      flush();
    }
    if (run.empty()) first = page->pgno;
    run.insert(run.end(), page->data.begin(), page->data.end());
    file.pgnos.push_back(page->pgno);
    file.sums.push_back(page->checksum != 0 ? page->checksum
                                            : page_checksum(page->pgno, page->data));
  }
  flush();
  file.trailer = dec.trailer();
  return file;
}

}  // namespace ltxvfs::ltx
