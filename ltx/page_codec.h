// Page payload encodings: what follows each frame's 6-byte page header.
//
//   0x0000  LZ4 frame  (Litestream v0.5.0+): a complete LZ4 frame, 64 KB blocks, independent
//   blocks,
//           content checksum, no content size. No size prefix: the frame's own structure ends it.
//   0x0001  LZ4 block  (Litestream v0.5.16+): u32 BE compressed size, then one raw LZ4 block.
//   0x0100  zstd       (ltxvfs native extension): u32 BE compressed size, then one zstd frame with
//           content size and content checksum. Only valid in files whose header carries
//           kHeaderFlagNativeExtensions.
//   0x0200  zstd, then AES-256-GCM (ltxvfs native extension): the zstd frame encrypted
//           (page_cipher.h). Only valid in files with kHeaderFlagEncrypted. PageDecompressor
//           does not open it (it has no key or origin): the decoders decrypt, then decompress.
//
// Every payload must decompress to exactly one page; both directions check it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ltxvfs::ltx {

struct FrameOrigin;
class PageCipher;

enum class PageEncoding : std::uint16_t {
  kLz4Frame = 0x0000,
  kLz4Block = 0x0001,
  // Bit 0 is deliberately clear: a reader that only tests bit 0 (Go's DecodePageData) takes the
  // LZ4-frame path and fails on the zstd magic instead of feeding zstd bytes to an LZ4 block
  // decoder, which could "succeed" with garbage.
  kZstd = 0x0100,
  // Bit 0 clear for the same reason; a reader that does not know it fails on the size prefix
  // where it expects the LZ4 frame magic.
  kZstdAesGcm = 0x0200,
};

inline constexpr int kDefaultZstdLevel = 3;

std::optional<PageEncoding> page_encoding_from_flags(std::uint16_t flags);
std::string_view to_string(PageEncoding encoding);

constexpr bool has_size_prefix(PageEncoding e) {
  return e != PageEncoding::kLz4Frame;
}
constexpr bool is_native_extension(PageEncoding e) {
  return e == PageEncoding::kZstd || e == PageEncoding::kZstdAesGcm;
}

// Largest payload (size prefix included) any encoder writes for one page; anything claiming more
// is corrupt. Generous on purpose: foreign LZ4 frame writers may add block checksums.
constexpr std::size_t max_payload_size(std::uint32_t page_size) {
  return std::size_t{page_size} + page_size / 64 + 1024;
}

// How many bytes the size-prefixed payload (LZ4 block, zstd, zstd+AES-GCM) at the start of
// `input` takes, prefix included, with the checks decompress() makes of the prefix (kDecompress,
// or kTruncated when `input_ends_file`); the payload itself is not looked at.
std::size_t stored_payload_size(PageEncoding encoding, std::span<const std::uint8_t> input,
                                std::uint32_t page_size, bool input_ends_file,
                                std::string_view file_name, std::uint32_t pgno);

// Compresses pages with one encoding, reusing its compression context between pages. Not
// thread-safe; use one per thread.
class PageCompressor {
 public:
  explicit PageCompressor(PageEncoding encoding, int zstd_level = kDefaultZstdLevel);
  ~PageCompressor();
  PageCompressor(const PageCompressor&) = delete;
  PageCompressor& operator=(const PageCompressor&) = delete;

  PageEncoding encoding() const { return encoding_; }

  // Appends the payload for `page` (size prefix included where the encoding has one) to `out`.
  // `page` is normally one page; tests pass other lengths to craft bad files.
  void compress(std::span<const std::uint8_t> page, std::vector<std::uint8_t>& out);

 private:
  struct Contexts;
  PageEncoding encoding_;
  int zstd_level_;
  std::unique_ptr<Contexts> ctx_;
};

// What a zstd payload's decompression checks beyond its shape (check_zstd_frame).
enum class FrameCheck {
  // The frame's own content checksum (xxHash64 of the page): the only check of a frame read
  // alone, and of a payload copied into another file.
  kContentChecksum,
  // Nothing more: for a decoder whose caller uses only the decompressed page and checks it by
  // the file checksum before anything depends on it (ltx::decode_file). ~7 % of a decode.
  kCallerChecksPage,
};

// Decompresses payloads of any encoding, reusing contexts. Not thread-safe.
class PageDecompressor {
 public:
  PageDecompressor();
  ~PageDecompressor();
  PageDecompressor(const PageDecompressor&) = delete;
  PageDecompressor& operator=(const PageDecompressor&) = delete;

  // Decodes the payload at the start of `input` into `page`, which it must fill exactly
  // (otherwise kDecompress). Returns how many bytes of `input` the payload occupies (size prefix
  // included); `input` may extend past it. If `input` ends inside the payload the error is
  // kTruncated when `input_ends_file` (the file really ends there), otherwise kDecompress (the
  // payload is longer than max_payload_size). Messages name `file_name` and `pgno`. `check`
  // applies to zstd payloads (LZ4 frames always check theirs).
  std::size_t decompress(PageEncoding encoding, std::span<const std::uint8_t> input,
                         std::span<std::uint8_t> page, bool input_ends_file,
                         std::string_view file_name, std::uint32_t pgno,
                         FrameCheck check = FrameCheck::kContentChecksum);

  // Opens a zstd+AES-GCM payload at the start of `input` into `zstd_payload` (a kZstd payload to
  // pass to decompress()); returns the bytes it takes. See PageCipher::open for the errors. The
  // plaintext goes to a buffer of the caller's: decoders sharing this object each keep their own.
  std::size_t open_encrypted(std::span<const std::uint8_t> input, const FrameOrigin& origin,
                             std::uint64_t header_key_id, bool input_ends_file,
                             std::string_view file_name, std::vector<std::uint8_t>& zstd_payload);
  // A buffer of this object's for open_encrypted's output, for a caller that opens and
  // decompresses one frame at a time (decode_frame). Not a thread_local: LeakSanitizer crashed
  // on the dynamic TLS of the extension's worker threads (CI's ASan lane, ~1 run in 30 of an
  // encryption test here).
  std::vector<std::uint8_t>& plain_buffer();

 private:
  struct Contexts;
  std::unique_ptr<Contexts> ctx_;
};

}  // namespace ltxvfs::ltx
