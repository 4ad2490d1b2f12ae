// Streaming LTX encoder: header at construction, one frame per add_page(), then finish() writes
// the end marker, the page index and the trailer. Memory use is one frame plus the index.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ltx/checksum.h"
#include "ltx/encryption_key.h"
#include "ltx/file_digest.h"
#include "ltx/header.h"
#include "ltx/page_cipher.h"
#include "ltx/page_codec.h"
#include "ltx/page_index.h"
#include "ltx/sink.h"

namespace ltxvfs::ltx {

// What a replica holds: Litestream v0.5's files (so Litestream restores and reads them), or
// ltxvfs's own (zstd pages, full checksums; docs/FORMAT.md).
enum class OutputFormat { kNative, kLitestream };

struct EncodeOptions {
  PageEncoding encoding = PageEncoding::kZstd;
  // Pre/post-apply checksums. Off means header flag 0x2 and both written as zero.
  bool checksums = true;
  int zstd_level = kDefaultZstdLevel;
  // Encrypt with this key (docs/FORMAT.md "Encrypted files"): pages are stored as zstd+AES-GCM,
  // the header says so and names the key id. Needs `encoding` kZstd (kInvalidArgument otherwise).
  KeyPtr key;
  // With a key: the id of the database this file belongs to (Header::database_id, non-zero;
  // kInvalidArgument otherwise). Every frame binds it. ltx::compact also checks its encrypted
  // inputs against it. Without a key it is not written.
  std::uint64_t database_id = 0;

  // What every Litestream v0.5 release reads: LZ4 frame pages, flags exactly 0x2, zero pre/post-
  // apply checksums.
  static EncodeOptions litestream() {
    return {PageEncoding::kLz4Frame, false, kDefaultZstdLevel, nullptr, 0};
  }
  // ltxvfs's own format: zstd pages and full checksums (Litestream refuses it; docs/FORMAT.md).
  static EncodeOptions native() {
    return {PageEncoding::kZstd, true, kDefaultZstdLevel, nullptr, 0};
  }
  // The options of a replica format: the one place OutputFormat becomes encoding options. A key
  // encrypts native output (callers refuse a key with the Litestream format before this).
  static EncodeOptions of(OutputFormat format, KeyPtr key = nullptr,
                          std::uint64_t database_id = 0) {
    EncodeOptions o = format == OutputFormat::kLitestream ? litestream() : native();
    o.key = std::move(key);
    o.database_id = database_id;
    return o;
  }

  // The page flags frames are stored with: `encoding`, or zstd+AES-GCM with a key.
  PageEncoding stored_encoding() const { return key ? PageEncoding::kZstdAesGcm : encoding; }

  // The header flags these options imply; the encoder writes exactly these.
  std::uint32_t header_flags() const;
};

class Encoder {
 public:
  // Takes every header field except `flags` (derived from `options`) from `header`; with
  // checksums off the pre-apply checksum is written as 0 whatever was passed. Validates the header
  // (throws like Header::validate) and writes it. `name` is used in error messages.
  Encoder(Sink& sink, const Header& header, const EncodeOptions& options = EncodeOptions::native(),
          std::string name = {});
  // The same, compressing with `compressor` (which must use options.encoding) instead of a new
  // one: a compression context costs far more to create than one small transaction to encode.
  Encoder(Sink& sink, const Header& header, const EncodeOptions& options,
          PageCompressor& compressor, std::string name = {});

  // Pages must be page-sized (kBadPageSize), strictly ascending (kBadPageOrder), at most the
  // commit (kPageBeyondCommit) and never the lock page (kLockPage).
  void add_page(std::uint32_t pgno, std::span<const std::uint8_t> page);

  // The same page, stored as `payload` (size prefix included where the encoding has one) instead
  // of being compressed again: what a compactor does with a frame whose encoding is already the
  // output's. `encoding` must be options.encoding (kInvalidArgument otherwise). The caller
  // guarantees that `payload` decompresses to exactly `page` (a Decoder has just checked that);
  // `page` is still needed, since the file checksum covers the decompressed bytes.
  void add_encoded_page(std::uint32_t pgno, std::span<const std::uint8_t> page,
                        PageEncoding encoding, std::span<const std::uint8_t> payload);

  // Ends the file and returns its trailer. A snapshot must by now hold every page 1..commit but
  // the lock page (kIncompleteSnapshot). With checksums on, `post_apply_checksum` must be present
  // and, for a snapshot, equal the checksum of its pages (kPostApplyMismatch); with checksums off
  // it is written as 0. After an exception, discard the encoder and its output.
  Trailer finish(std::uint64_t post_apply_checksum = 0);

  const Header& header() const { return header_; }
  std::uint64_t bytes_written() const { return offset_; }

 private:
  Encoder(Sink& sink, const Header& header, const EncodeOptions& options,
          std::unique_ptr<PageCompressor> own, PageCompressor* lent, std::string name);
  void emit(std::span<const std::uint8_t> bytes, bool hash);
  void check_page(std::uint32_t pgno, std::span<const std::uint8_t> page);
  void write_frame(std::uint32_t pgno, std::span<const std::uint8_t> page);
  void seal(std::uint32_t pgno, std::span<const std::uint8_t> zstd_payload);

  Sink& sink_;
  Header header_;
  EncodeOptions options_;
  std::string name_;
  std::uint32_t lock_pgno_;
  std::unique_ptr<PageCompressor> own_compressor_;  // when none was lent
  PageCompressor* compressor_;
  FileDigest file_crc_;                 // CRC-64, or the file MAC of an encrypted file
  std::unique_ptr<PageCipher> cipher_;  // encrypted files only
  std::vector<std::uint8_t> plain_;     // an encrypted file's zstd payload before sealing
  DatabaseChecksum pages_checksum_;     // of the pages written; the database checksum of a snapshot
  // The page index, encoded as it goes into the file (uvarints, ~9 bytes a page), in blocks of
  // 64 KiB that are never reallocated: a snapshot of a 1 GiB database has 262,144 entries, 6 MiB
  // as structs (12 MiB while a vector grows) but about 2.3 MiB encoded.
  std::vector<std::vector<std::uint8_t>> index_blocks_;
  std::uint64_t pages_written_ = 0;
  std::uint32_t last_pgno_ = 0;      // of the last page written (0: none)
  std::vector<std::uint8_t> frame_;  // reused for every frame: page header, then payload
  std::uint64_t offset_ = 0;
  std::uint32_t first_missing_ = 0;  // snapshots: first page skipped so far (0: none)
  bool finished_ = false;
};

}  // namespace ltxvfs::ltx
