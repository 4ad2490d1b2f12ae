#include "ltx/page_codec.h"

#include <lz4.h>
#include <lz4frame.h>
// ZSTD_d_forceIgnoreChecksum (zstd >= 1.4.7) is in the header's experimental section.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <string>

#include "base/byte_order.h"
#include "ltx/error.h"
#include "ltx/page_cipher.h"

namespace ltxvfs::ltx {
namespace {

constexpr std::size_t kSizePrefix = 4;
constexpr std::uint32_t kZstdMagic = 0xFD2FB528;  // little-endian on disk
// Frame_Header_Descriptor bit 4: "unused", which a zstd decoder must ignore. Our encoder never
// sets it; rejecting it means no bit of a zstd payload can flip without detection (the file
// checksum only covers decompressed bytes).
constexpr std::uint8_t kZstdUnusedBit = 0x10;

struct Lz4fCctxDeleter {
  void operator()(LZ4F_cctx* c) const { LZ4F_freeCompressionContext(c); }
};
struct Lz4fDctxDeleter {
  void operator()(LZ4F_dctx* d) const { LZ4F_freeDecompressionContext(d); }
};
struct ZstdCctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDctxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

std::string page_str(std::uint32_t pgno) {
  return "page " + std::to_string(pgno) + ": ";
}

[[noreturn]] void decompress_error(std::string_view file, std::uint32_t pgno,
                                   std::string_view encoding, const std::string& what) {
  throw LtxError(LtxErrorKind::kDecompress, file,
                 page_str(pgno) + std::string(encoding) + " payload " + what);
}

// The settings Litestream's LZ4 frame pages use (docs/FORMAT.md).
LZ4F_preferences_t litestream_frame_preferences() {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.contentSize = 0;
  prefs.autoFlush = 1;  // a page is one block: nothing to keep buffered between calls
  return prefs;
}

}  // namespace

std::optional<PageEncoding> page_encoding_from_flags(std::uint16_t flags) {
  switch (flags) {
    case static_cast<std::uint16_t>(PageEncoding::kLz4Frame):
      return PageEncoding::kLz4Frame;
    case static_cast<std::uint16_t>(PageEncoding::kLz4Block):
      return PageEncoding::kLz4Block;
    case static_cast<std::uint16_t>(PageEncoding::kZstd):
      return PageEncoding::kZstd;
    case static_cast<std::uint16_t>(PageEncoding::kZstdAesGcm):
      return PageEncoding::kZstdAesGcm;
    default:
      return std::nullopt;
  }
}

std::string_view to_string(PageEncoding encoding) {
  switch (encoding) {
    case PageEncoding::kLz4Frame:
      return "LZ4 frame";
    case PageEncoding::kLz4Block:
      return "LZ4 block";
    case PageEncoding::kZstd:
      return "zstd";
    case PageEncoding::kZstdAesGcm:
      return "zstd+AES-256-GCM";
  }
  return "unknown";
}

// ---- compression ----------------------------------------------------------------------------

struct PageCompressor::Contexts {
  std::unique_ptr<LZ4F_cctx, Lz4fCctxDeleter> lz4f;
  std::vector<std::uint64_t> lz4_state;  // LZ4_compress_fast_extState's state, 8-byte aligned
  std::unique_ptr<ZSTD_CCtx, ZstdCctxDeleter> zstd;
};

PageCompressor::PageCompressor(PageEncoding encoding, int zstd_level)
    : encoding_(encoding), zstd_level_(zstd_level), ctx_(std::make_unique<Contexts>()) {
  switch (encoding_) {
    case PageEncoding::kLz4Frame: {
      LZ4F_cctx* c = nullptr;
      if (LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION))) throw std::bad_alloc();
      ctx_->lz4f.reset(c);
      break;
    }
    case PageEncoding::kLz4Block:
      ctx_->lz4_state.resize((static_cast<std::size_t>(LZ4_sizeofState()) + 7) / 8);
      break;
    case PageEncoding::kZstd:
    case PageEncoding::kZstdAesGcm:  // compressed here, sealed by the encoder
      ctx_->zstd.reset(ZSTD_createCCtx());
      if (!ctx_->zstd) throw std::bad_alloc();
      ZSTD_CCtx_setParameter(ctx_->zstd.get(), ZSTD_c_compressionLevel, zstd_level_);
      // Content size lets the reader check the length before decoding; the content checksum
      // makes a single frame fetched by random access self-verifying.
      ZSTD_CCtx_setParameter(ctx_->zstd.get(), ZSTD_c_contentSizeFlag, 1);
      ZSTD_CCtx_setParameter(ctx_->zstd.get(), ZSTD_c_checksumFlag, 1);
      break;
  }
}

PageCompressor::~PageCompressor() = default;

void PageCompressor::compress(std::span<const std::uint8_t> page, std::vector<std::uint8_t>& out) {
  const std::size_t start = out.size();
  switch (encoding_) {
    case PageEncoding::kLz4Frame: {
      const LZ4F_preferences_t prefs = litestream_frame_preferences();
      out.resize(start + LZ4F_compressFrameBound(page.size(), &prefs));
      std::uint8_t* dst = out.data() + start;
      std::size_t cap = out.size() - start;
      LZ4F_compressOptions_t opts{};
      opts.stableSrc = 1;
      std::size_t n = LZ4F_compressBegin(ctx_->lz4f.get(), dst, cap, &prefs);
      std::size_t total = 0;
      if (!LZ4F_isError(n)) {
        total += n;
        n = LZ4F_compressUpdate(ctx_->lz4f.get(), dst + total, cap - total, page.data(),
                                page.size(), &opts);
      }
      if (!LZ4F_isError(n)) {
        total += n;
        n = LZ4F_compressEnd(ctx_->lz4f.get(), dst + total, cap - total, &opts);
      }
      if (LZ4F_isError(n)) {
        throw LtxError(LtxErrorKind::kInvalidArgument, "LZ4 frame compression",
                       LZ4F_getErrorName(n));
      }
      out.resize(start + total + n);
      return;
    }
    case PageEncoding::kLz4Block: {
      const int cap = LZ4_compressBound(static_cast<int>(page.size()));
      out.resize(start + kSizePrefix + static_cast<std::size_t>(cap));
      const int n = LZ4_compress_fast_extState(
          ctx_->lz4_state.data(), reinterpret_cast<const char*>(page.data()),
          reinterpret_cast<char*>(out.data() + start + kSizePrefix), static_cast<int>(page.size()),
          cap, 1);
      if (n <= 0) {
        throw LtxError(LtxErrorKind::kInvalidArgument, "LZ4 block compression", "failed");
      }
      base::store_be32(out.data() + start, static_cast<std::uint32_t>(n));
      out.resize(start + kSizePrefix + static_cast<std::size_t>(n));
      return;
    }
    case PageEncoding::kZstd:
    case PageEncoding::kZstdAesGcm: {
      const std::size_t cap = ZSTD_compressBound(page.size());
      out.resize(start + kSizePrefix + cap);
      const std::size_t n = ZSTD_compress2(ctx_->zstd.get(), out.data() + start + kSizePrefix, cap,
                                           page.data(), page.size());
      if (ZSTD_isError(n)) {
        throw LtxError(LtxErrorKind::kInvalidArgument, "zstd compression", ZSTD_getErrorName(n));
      }
      base::store_be32(out.data() + start, static_cast<std::uint32_t>(n));
      out.resize(start + kSizePrefix + n);
      return;
    }
  }
}

// ---- decompression --------------------------------------------------------------------------

struct PageDecompressor::Contexts {
  std::unique_ptr<LZ4F_dctx, Lz4fDctxDeleter> lz4f;
  std::unique_ptr<ZSTD_DCtx, ZstdDctxDeleter> zstd;
  bool zstd_checks_frames = true;  // ZSTD_d_forceIgnoreChecksum not set
  std::unique_ptr<PageCipher> cipher;
  std::vector<std::uint8_t> plain;
};

std::vector<std::uint8_t>& PageDecompressor::plain_buffer() {
  return ctx_->plain;
}

std::size_t PageDecompressor::open_encrypted(std::span<const std::uint8_t> input,
                                             const FrameOrigin& origin, std::uint64_t header_key_id,
                                             bool input_ends_file, std::string_view file_name,
                                             std::vector<std::uint8_t>& zstd_payload) {
  if (!ctx_->cipher) ctx_->cipher = std::make_unique<PageCipher>();
  return ctx_->cipher->open(input, origin, header_key_id, input_ends_file, file_name, zstd_payload);
}

PageDecompressor::PageDecompressor() : ctx_(std::make_unique<Contexts>()) {}
PageDecompressor::~PageDecompressor() = default;

namespace {

// Splits a size-prefixed payload off `input`, with the truncated/too-long distinction.
std::span<const std::uint8_t> sized_payload(std::span<const std::uint8_t> input,
                                            std::size_t page_size, bool input_ends_file,
                                            std::string_view file, std::uint32_t pgno,
                                            std::string_view encoding) {
  if (input.size() < kSizePrefix) {
    if (input_ends_file) {
      throw LtxError(
          LtxErrorKind::kTruncated, file,
          page_str(pgno) + "file ends inside the " + std::string(encoding) + " size prefix");
    }
    decompress_error(file, pgno, encoding, "has no room for its size prefix");
  }
  const std::uint32_t size = base::load_be32(input.data());
  const std::size_t limit = max_payload_size(static_cast<std::uint32_t>(page_size)) - kSizePrefix;
  if (size == 0 || size > limit) {
    decompress_error(file, pgno, encoding,
                     "size prefix says " + std::to_string(size) + " bytes; a " +
                         std::to_string(page_size) + "-byte page needs 1.." +
                         std::to_string(limit));
  }
  if (input.size() - kSizePrefix < size) {
    if (input_ends_file) {
      throw LtxError(LtxErrorKind::kTruncated, file,
                     page_str(pgno) + "file ends inside the " + std::string(encoding) +
                         " payload (" + std::to_string(size) + " bytes declared, " +
                         std::to_string(input.size() - kSizePrefix) + " present)");
    }
    decompress_error(file, pgno, encoding, "runs past the bytes available to it");
  }
  return input.subspan(kSizePrefix, size);
}

// The token of an LZ4 block's last sequence (literals only) has a match-length nibble that
// decoders ignore; liblz4 and Go's pierrec/lz4 both write 0 there. Requiring 0 closes the one
// place where a flipped bit in an LZ4 block decodes to the same page and so escapes the file
// checksum. Called only on a block LZ4 has already decoded, so the walk is well-formed; it skips
// literals and matches without copying anything.
bool last_token_is_canonical(std::span<const std::uint8_t> block) {
  std::size_t i = 0;
  std::size_t last = 0;
  auto skip_length = [&](std::size_t& len) {
    std::uint8_t b;
    do {
      if (i >= block.size()) return false;
      b = block[i++];
      len += b;
    } while (b == 255);
    return true;
  };
  while (i < block.size()) {
    last = i;
    const std::uint8_t token = block[i++];
    std::size_t literals = token >> 4;
    if (literals == 15 && !skip_length(literals)) return false;
    if (literals > block.size() - i) return false;
    i += literals;
    if (i == block.size()) break;  // the last sequence ends the block after its literals
    if (block.size() - i < 2) return false;
    i += 2;  // match offset
    std::size_t match = token & 15;
    if (match == 15 && !skip_length(match)) return false;
  }
  return (block[last] & 0x0f) == 0;
}

// Decodes one LZ4 frame of `input` into `page` with a reset `dctx`; returns the bytes it took.
// The frame has no size prefix: LZ4F says where it ends, and that end must fall inside `input`
// and produce exactly one page (64 spare bytes catch any output beyond it).
std::size_t decompress_lz4_frame(LZ4F_dctx* dctx, std::span<const std::uint8_t> input,
                                 std::span<std::uint8_t> page, bool input_ends_file,
                                 std::string_view file, std::uint32_t pgno) {
  const std::string_view name = to_string(PageEncoding::kLz4Frame);
  LZ4F_resetDecompressionContext(dctx);  // a previous error may have left it mid-frame
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  std::uint8_t overflow[64];  // catches output beyond one page
  for (;;) {
    const bool page_full = out_pos == page.size();
    std::uint8_t* dst = page_full ? overflow : page.data() + out_pos;
    std::size_t dst_size = page_full ? sizeof overflow : page.size() - out_pos;
    std::size_t src_size = input.size() - in_pos;
    const std::size_t hint =
        LZ4F_decompress(dctx, dst, &dst_size, input.data() + in_pos, &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      decompress_error(file, pgno, name,
                       std::string("is corrupt (") + LZ4F_getErrorName(hint) + ")");
    }
    in_pos += src_size;
    if (page_full && dst_size > 0) {
      decompress_error(file, pgno, name,
                       "decompresses to more than " + std::to_string(page.size()) + " bytes");
    }
    out_pos += page_full ? 0 : dst_size;
    if (hint == 0) break;  // end of frame: LZ4F stops exactly there
    if (src_size == 0 && dst_size == 0) {
      if (in_pos < input.size()) decompress_error(file, pgno, name, "makes no progress");
      if (input_ends_file) {
        throw LtxError(LtxErrorKind::kTruncated, file,
                       page_str(pgno) + "file ends inside the LZ4 frame");
      }
      decompress_error(file, pgno, name,
                       "does not end within " + std::to_string(input.size()) + " bytes");
    }
  }
  if (out_pos != page.size()) {
    decompress_error(file, pgno, name,
                     "decompresses to " + std::to_string(out_pos) + " bytes, expected " +
                         std::to_string(page.size()));
  }
  return in_pos;
}

// Decodes one size-prefixed LZ4 block of `input` into `page`; returns the bytes it took.
std::size_t decompress_lz4_block(std::span<const std::uint8_t> input, std::span<std::uint8_t> page,
                                 bool input_ends_file, std::string_view file, std::uint32_t pgno) {
  const std::string_view name = to_string(PageEncoding::kLz4Block);
  const std::string expected = std::to_string(page.size());
  const auto payload = sized_payload(input, page.size(), input_ends_file, file, pgno, name);
  const int n = LZ4_decompress_safe(
      reinterpret_cast<const char*>(payload.data()), reinterpret_cast<char*>(page.data()),
      static_cast<int>(payload.size()), static_cast<int>(page.size()));
  if (n < 0) {
    decompress_error(file, pgno, name,
                     "is corrupt or decompresses to more than " + expected + " bytes");
  }
  if (static_cast<std::size_t>(n) != page.size()) {
    decompress_error(file, pgno, name,
                     "decompresses to " + std::to_string(n) + " bytes, expected " + expected);
  }
  if (!last_token_is_canonical(payload)) {
    decompress_error(file, pgno, name, "ends with a token whose unused match-length bits are set");
  }
  return kSizePrefix + payload.size();
}

// Checks that a zstd payload is exactly one frame of our encoder's shape, recording one page:
// the magic, the unused header bit clear, the frame filling the payload, the content size
// declared. zstd's own decoder tolerates each of these, so a flipped bit there would go unseen.
void check_zstd_frame(std::span<const std::uint8_t> payload, std::size_t page_size,
                      std::string_view file, std::uint32_t pgno) {
  const std::string_view name = to_string(PageEncoding::kZstd);
  if (payload.size() < 5 || base::load_le32(payload.data()) != kZstdMagic) {
    decompress_error(file, pgno, name, "does not start with the zstd frame magic");
  }
  if ((payload[4] & kZstdUnusedBit) != 0) {
    decompress_error(file, pgno, name, "has the unused frame-header bit set");
  }
  const std::size_t frame_size = ZSTD_findFrameCompressedSize(payload.data(), payload.size());
  if (ZSTD_isError(frame_size)) {
    decompress_error(file, pgno, name,
                     std::string("is corrupt (") + ZSTD_getErrorName(frame_size) + ")");
  }
  if (frame_size != payload.size()) {
    decompress_error(file, pgno, name,
                     "holds a " + std::to_string(frame_size) + "-byte frame in " +
                         std::to_string(payload.size()) + " bytes (exactly one frame expected)");
  }
  const unsigned long long content = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (content != page_size) {
    decompress_error(file, pgno, name,
                     content == ZSTD_CONTENTSIZE_UNKNOWN || content == ZSTD_CONTENTSIZE_ERROR
                         ? "does not record its decompressed size"
                         : "declares " + std::to_string(content) + " bytes, expected " +
                               std::to_string(page_size));
  }
}

// Decodes one size-prefixed zstd frame of `input` into `page` with `dctx`; returns the bytes it
// took. The frame's content checksum is checked unless `dctx` was told to ignore it.
std::size_t decompress_zstd(ZSTD_DCtx* dctx, std::span<const std::uint8_t> input,
                            std::span<std::uint8_t> page, bool input_ends_file,
                            std::string_view file, std::uint32_t pgno) {
  const std::string_view name = to_string(PageEncoding::kZstd);
  const auto payload = sized_payload(input, page.size(), input_ends_file, file, pgno, name);
  check_zstd_frame(payload, page.size(), file, pgno);
  const std::size_t n =
      ZSTD_decompressDCtx(dctx, page.data(), page.size(), payload.data(), payload.size());
  if (ZSTD_isError(n)) {
    decompress_error(file, pgno, name, std::string("is corrupt (") + ZSTD_getErrorName(n) + ")");
  }
  if (n != page.size()) {
    decompress_error(
        file, pgno, name,
        "decompresses to " + std::to_string(n) + " bytes, expected " + std::to_string(page.size()));
  }
  return kSizePrefix + payload.size();
}

}  // namespace

std::size_t stored_payload_size(PageEncoding encoding, std::span<const std::uint8_t> input,
                                std::uint32_t page_size, bool input_ends_file,
                                std::string_view file, std::uint32_t pgno) {
  return kSizePrefix +
         sized_payload(input, page_size, input_ends_file, file, pgno, to_string(encoding)).size();
}

std::size_t PageDecompressor::decompress(PageEncoding encoding, std::span<const std::uint8_t> input,
                                         std::span<std::uint8_t> page, bool input_ends_file,
                                         std::string_view file, std::uint32_t pgno,
                                         FrameCheck check) {
  // Each context is made on first use: a decoder of one file meets one encoding.
  switch (encoding) {
    case PageEncoding::kLz4Frame:
      if (!ctx_->lz4f) {
        LZ4F_dctx* d = nullptr;
        if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) {
          throw std::bad_alloc();
        }
        ctx_->lz4f.reset(d);
      }
      return decompress_lz4_frame(ctx_->lz4f.get(), input, page, input_ends_file, file, pgno);
    case PageEncoding::kLz4Block:
      return decompress_lz4_block(input, page, input_ends_file, file, pgno);
    case PageEncoding::kZstd:
      if (!ctx_->zstd) {
        ctx_->zstd.reset(ZSTD_createDCtx());
        if (!ctx_->zstd) throw std::bad_alloc();
      }
      if (const bool checks = check == FrameCheck::kContentChecksum;
          checks != ctx_->zstd_checks_frames) {
        // A zstd too old to know the parameter refuses it and keeps checking: slower, not wrong.
        const std::size_t r =
            ZSTD_DCtx_setParameter(ctx_->zstd.get(), ZSTD_d_forceIgnoreChecksum,
                                   checks ? ZSTD_d_validateChecksum : ZSTD_d_ignoreChecksum);
        if (!ZSTD_isError(r)) ctx_->zstd_checks_frames = checks;
      }
      return decompress_zstd(ctx_->zstd.get(), input, page, input_ends_file, file, pgno);
    case PageEncoding::kZstdAesGcm:
      throw LtxError(LtxErrorKind::kInvalidArgument, file,
                     page_str(pgno) + "an encrypted payload must be opened (PageCipher) first");
  }
  throw LtxError(LtxErrorKind::kUnsupportedEncoding, file, page_str(pgno) + "unknown encoding");
}

}  // namespace ltxvfs::ltx
