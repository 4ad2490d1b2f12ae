#include "ltx/decoded_file.h"

#include <algorithm>

#include "ltx/checksum.h"
#include "ltx/decoder.h"

namespace ltxvfs::ltx {

std::optional<DecodedFile> decode_file(const Source& source, std::string name,
                                       PageDecompressor& decompressor, std::size_t max_page_bytes) {
  Decoder dec(source, std::move(name), decompressor);
  DecodedFile file;
  file.header = dec.header();
  const std::size_t ps = file.header.page_size;
  // A guess from the object size (pages compress ~2:1), never from a field the checksum has not
  // yet vouched for: a corrupt commit must not become a huge allocation.
  file.pages.reserve(std::min<std::size_t>(max_page_bytes, 3 * source.size()));
  while (auto page = dec.next()) {
    if (file.pages.size() + ps > max_page_bytes) return std::nullopt;
    file.pgnos.push_back(page->pgno);
    file.sums.push_back(page->checksum != 0 ? page->checksum
                                            : page_checksum(page->pgno, page->data));
    file.pages.insert(file.pages.end(), page->data.begin(), page->data.end());
  }
  file.trailer = dec.trailer();
  return file;
}

}  // namespace ltxvfs::ltx
