#include "ltx/page_frame.h"

#include <string>

#include "base/byte_order.h"
#include "ltx/error.h"
#include "ltx/page_cipher.h"

namespace ltxvfs::ltx {

std::array<std::uint8_t, kPageHeaderSize> PageHeader::encode() const {
  std::array<std::uint8_t, kPageHeaderSize> b{};
  base::store_be32(b.data(), pgno);
  base::store_be16(b.data() + 4, flags);
  return b;
}

PageHeader PageHeader::decode(std::span<const std::uint8_t, kPageHeaderSize> bytes) {
  return PageHeader{base::load_be32(bytes.data()), base::load_be16(bytes.data() + 4)};
}

void decode_frame(std::span<const std::uint8_t> frame, std::uint32_t expected_pgno,
                  std::span<std::uint8_t> page, PageDecompressor& decompressor,
                  std::string_view file_name, FrameFile file) {
  // Built only on failure: remote readers call this once per page fetched.
  auto where = [&] { return "frame of page " + std::to_string(expected_pgno) + ": "; };
  if (frame.size() <= kPageHeaderSize) {
    throw LtxError(LtxErrorKind::kTruncated, file_name,
                   where() + "got " + std::to_string(frame.size()) +
                       " bytes, too few for a page header and payload");
  }
  const PageHeader hdr = PageHeader::decode(frame.first<kPageHeaderSize>());
  if (hdr.pgno != expected_pgno) {
    throw LtxError(LtxErrorKind::kIndexMismatch, file_name,
                   where() + "the bytes hold page " + std::to_string(hdr.pgno) +
                       " (the page index points at the wrong place)");
  }
  const auto encoding = page_encoding_from_flags(hdr.flags);
  if (!encoding) {
    throw LtxError(LtxErrorKind::kUnsupportedEncoding, file_name,
                   where() + "unknown page flags " + std::to_string(hdr.flags));
  }
  const auto payload = frame.subspan(kPageHeaderSize);
  std::size_t used = 0;
  if (*encoding == PageEncoding::kZstdAesGcm) {
    if (file.min_txid == 0) {
      throw LtxError(LtxErrorKind::kInvalidArgument, file_name,
                     where() + "an encrypted frame needs the TXID range of its file");
    }
    if (file.database_id == 0) {
      // A replica takes the id from its newest file's header: a history whose newest file is not
      // encrypted (a writer that dropped its key) names none, and guessing is what the id forbids.
      throw LtxError(LtxErrorKind::kAuthentication, file_name,
                     where() +
                         "an encrypted frame is bound to its database's id, and the history "
                         "being read names none (its newest file is not encrypted): restore it "
                         "with `ltxvfs restore`, which reads every file's header, or let its "
                         "writer, given the key, write a new snapshot");
    }
    const FrameOrigin origin{static_cast<std::uint32_t>(page.size()), expected_pgno, file.min_txid,
                             file.max_txid, file.database_id};
    std::vector<std::uint8_t>& plain = decompressor.plain_buffer();  // one page's zstd payload
    used = decompressor.open_encrypted(payload, origin, 0, true, file_name, plain);
    decompressor.decompress(PageEncoding::kZstd, plain, page, true, file_name, expected_pgno);
  } else {
    used = decompressor.decompress(*encoding, payload, page, /*input_ends_file=*/true, file_name,
                                   expected_pgno);
  }
  if (used != payload.size()) {
    throw LtxError(LtxErrorKind::kIndexMismatch, file_name,
                   where() + "the payload is " + std::to_string(used) +
                       " bytes but the page index gives it " + std::to_string(payload.size()));
  }
}

std::vector<std::uint8_t> decode_frame(std::span<const std::uint8_t> frame,
                                       std::uint32_t expected_pgno, std::uint32_t page_size,
                                       std::string_view file_name, FrameFile file) {
  std::vector<std::uint8_t> page(page_size);
  PageDecompressor decompressor;
  decode_frame(frame, expected_pgno, page, decompressor, file_name, file);
  return page;
}

}  // namespace ltxvfs::ltx
