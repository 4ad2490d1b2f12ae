// Whole-file LTX decoder: walks a file front to back and checks everything the format promises —
// header rules, page order, lock page, commit bound, snapshot completeness, exact decompressed
// length, index == frames, trailer rules and the file checksum (and, for a checksummed snapshot,
// that the post-apply checksum is the checksum of its pages). Holds one page in memory at a time.
//
// Pages are handed out as they are decoded, before the file checksum (at the end) is known: a
// caller acting on pages must treat its work as provisional until next() has returned nullopt.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ltx/checksum.h"
#include "ltx/file_digest.h"
#include "ltx/header.h"
#include "ltx/page_codec.h"
#include "ltx/page_frame.h"
#include "ltx/page_index.h"
#include "ltx/sequential_reader.h"
#include "ltx/source.h"

namespace ltxvfs::ltx {

struct DecodedPage {
  std::uint32_t pgno = 0;
  std::span<const std::uint8_t> data;  // valid until the next call to next()
  // How the page is stored: its encoding and the payload exactly as in the file (size prefix
  // included where the encoding has one), already checked to decompress to `data`. Lets a
  // compactor copy the frame instead of compressing `data` again. Valid until the next call.
  // For an encrypted frame these are the opened zstd payload and kZstd: an encrypting encoder
  // seals them again for its own file.
  PageEncoding encoding = PageEncoding::kLz4Frame;
  std::span<const std::uint8_t> payload;
  // page_checksum(pgno, data), from the one pass over the page that also serves the file
  // checksum; 0 in an encrypted file whose pages need no checksum (not a checksummed snapshot),
  // where the file's MAC does not hash the page. An applier need not hash the page again.
  std::uint64_t checksum = 0;
};

// A frame as stored, for decoding elsewhere (decode_file_parallel): its page header and its
// payload (size prefix included where the encoding has one).
struct StoredFrame {
  std::uint32_t pgno = 0;
  PageEncoding encoding = PageEncoding::kLz4Frame;
  std::array<std::uint8_t, kPageHeaderSize> header{};
  std::span<const std::uint8_t> payload;  // valid until the next call to next_stored()
};

class Decoder {
 public:
  // Reads and checks the header (kTruncated, kBadMagic, kLegacyV1, kBadFlags, kBadPageSize,
  // kBadTxid, kBadHeader). `name` (e.g. the object key) prefixes every error message.
  explicit Decoder(const Source& source, std::string name = {});
  // The same, decompressing with `decompressor` (a context is costly to create; decoders used
  // one after another, or in lockstep like the compactor's, can share one).
  // `read_chunk` bounds the read-ahead buffer (a compactor holding many decoders open at once
  // divides its memory budget among them).
  Decoder(const Source& source, std::string name, PageDecompressor& decompressor,
          std::size_t read_chunk = SequentialReader::kDefaultChunk);

  const Header& header() const { return header_; }
  const std::string& name() const { return name_; }

  // The next page, or nullopt once the end of the file has been reached *and verified*.
  std::optional<DecodedPage> next();

  bool done() const { return done_; }
  // Valid once done().
  const Trailer& trailer() const { return trailer_; }
  // The frames read so far (pgno, offset, size); once done(), the file's verified page index.
  // Made on demand: a reference valid until the next call of next().
  const PageIndex& index() const;

  // Reads to the end, checking everything.
  void verify();

  // For a caller that uses only the decoded pages (DecodedPage::data) and discards what it did
  // with them if the file fails (ltx::decode_file): zstd frames' own content checksums are not
  // checked, since the file checksum (or an encrypted frame's tag) covers the same bytes; ~7 % of
  // a decode. DecodedPage::payload is then not known to be intact: a compactor, which copies it,
  // must not call this. Before the first next().
  void pages_only() { frame_check_ = FrameCheck::kCallerChecksPage; }

  // A walk of the frames for decoding them elsewhere, instead of next() (decode_file_parallel):
  // the next frame with every check next() makes of its header, page number and payload length,
  // not decompressed (but an LZ4 frame, whose length only decoding tells) and not hashed;
  // nullopt at the end marker. An encrypted frame comes opened (its tag checked, into the file
  // MAC with its header): a kZstd payload. Then finish_stored() with what the file checksum
  // covers of the frames (each page header, size prefix and decompressed page, in order: their
  // CRC and its length; ignored under a MAC) and the XOR of their page checksums; it reads and
  // checks the rest of the file as next() does at the end.
  std::optional<StoredFrame> next_stored();
  void finish_stored(std::uint64_t frames_crc, const Crc64Shift& frames_shift,
                     std::uint64_t sums_xor);

 private:
  Decoder(const Source& source, std::string name, PageDecompressor* lent, std::size_t read_chunk);
  void check_page_number(std::uint32_t pgno, std::uint64_t offset) const;
  // Reads the next page header and checks it and its page number; nullopt at the end marker.
  // `hash_now`: into the file checksum at once (next()), or later by finish_stored().
  struct FrameStart {
    std::uint32_t pgno = 0;
    PageEncoding encoding = PageEncoding::kLz4Frame;
    std::uint64_t offset = 0;
    std::array<std::uint8_t, kPageHeaderSize> bytes{};
  };
  std::optional<FrameStart> read_frame_header(bool hash_now);
  void record_frame(const FrameStart& start, std::size_t used);
  void finish();
  void check_file_checksum();

  SequentialReader reader_;
  std::string name_;
  Header header_;
  std::uint32_t lock_pgno_ = 0;
  std::unique_ptr<PageDecompressor> own_decompressor_;  // when none was lent
  PageDecompressor* decompressor_;
  std::vector<std::uint8_t> page_;
  FileDigest file_crc_;       // CRC-64, or the file MAC of an encrypted file
  Crc64Shift page_shift_{0};  // a page's length, for FileDigest::update_page
  FrameCheck frame_check_ = FrameCheck::kContentChecksum;
  std::vector<std::uint8_t> plain_;  // an encrypted frame's zstd payload, opened
  DatabaseChecksum pages_checksum_;
  // The frames read, 8 bytes each: offsets follow from the sizes, frames being contiguous from
  // byte 100.
  struct Frame {
    std::uint32_t pgno = 0;
    std::uint32_t size = 0;
  };
  std::vector<Frame> frames_;
  std::uint64_t frames_end_ = kHeaderSize;  // where the next frame starts
  mutable PageIndex index_;                 // frames_ as a page index, when index() is asked for it
  Trailer trailer_;
  bool done_ = false;
  // The end marker, once read: finish_stored() hashes it after the frames (unless a file MAC
  // took it at once).
  std::optional<std::array<std::uint8_t, kPageHeaderSize>> end_marker_;
};

// What a verified file holds besides its pages.
struct FileSummary {
  Header header;
  Trailer trailer;
  PageIndex index;
};

// Verifies a whole file.
FileSummary verify_file(const Source& source, std::string name = {});

// Calls `fn(pgno, page)` for every page in order, then verifies the end of the file.
FileSummary for_each_page(
    const Source& source, std::string name,
    const std::function<void(std::uint32_t, std::span<const std::uint8_t>)>& fn);

}  // namespace ltxvfs::ltx
