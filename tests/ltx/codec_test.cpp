#include <catch2/catch.hpp>

#include "ltx/page_codec.h"
#include "ltx/page_frame.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;

namespace {

const PageEncoding kAllEncodings[] = {PageEncoding::kLz4Frame, PageEncoding::kLz4Block,
                                      PageEncoding::kZstd};

Bytes compress(PageEncoding e, std::span<const std::uint8_t> data) {
  PageCompressor c(e);
  Bytes out;
  c.compress(data, out);
  return out;
}

}  // namespace

TEST_CASE("page flag values", "[codec]") {
  REQUIRE(static_cast<std::uint16_t>(PageEncoding::kLz4Frame) == 0x0000);
  REQUIRE(static_cast<std::uint16_t>(PageEncoding::kLz4Block) == 0x0001);
  REQUIRE(static_cast<std::uint16_t>(PageEncoding::kZstd) == 0x0100);
  REQUIRE(page_encoding_from_flags(0x0002) == std::nullopt);
  REQUIRE(page_encoding_from_flags(0x0101) == std::nullopt);
  REQUIRE(page_encoding_from_flags(0x0100) == PageEncoding::kZstd);
}

TEST_CASE("every encoding round-trips every page size", "[codec]") {
  PageDecompressor d;
  for (auto e : kAllEncodings) {
    for (std::uint32_t size : {512u, 1024u, 4096u, 65536u}) {
      for (const Bytes& page :
           {ltxtest::random_page(size, size), ltxtest::compressible_page(size, size),
            ltxtest::filled_page(size, 0)}) {
        const Bytes payload = compress(e, page);
        Bytes out(size);
        INFO(to_string(e) << " page size " << size);
        // The payload may be followed by unrelated bytes; it reports its own length.
        Bytes padded = payload;
        padded.insert(padded.end(), {1, 2, 3});
        REQUIRE(d.decompress(e, padded, out, false, "t", 1) == payload.size());
        REQUIRE(out == page);
        REQUIRE(payload.size() <= max_payload_size(size));
      }
    }
  }
}

TEST_CASE("LZ4 frame pages use the Litestream frame settings", "[codec]") {
  const Bytes payload = compress(PageEncoding::kLz4Frame, ltxtest::compressible_page(4096, 1));
  // Magic 0x184D2204 (LE), FLG: version 01, block independence, no block checksum, no content
  // size, content checksum; BD: max block size 64 KB.
  REQUIRE(Bytes(payload.begin(), payload.begin() + 4) == Bytes{0x04, 0x22, 0x4d, 0x18});
  const std::uint8_t flg = payload[4];
  REQUIRE((flg >> 6) == 1);
  REQUIRE((flg & 0x20) != 0);             // independent blocks
  REQUIRE((flg & 0x10) == 0);             // no block checksum
  REQUIRE((flg & 0x08) == 0);             // no content size
  REQUIRE((flg & 0x04) != 0);             // content checksum
  REQUIRE(((payload[5] >> 4) & 7) == 4);  // 64 KB blocks
}

TEST_CASE("zstd pages carry a size prefix, content size and checksum", "[codec]") {
  const Bytes page = ltxtest::compressible_page(4096, 3);
  const Bytes payload = compress(PageEncoding::kZstd, page);
  const std::uint32_t size =
      (std::uint32_t{payload[0]} << 24) | (payload[1] << 16) | (payload[2] << 8) | payload[3];
  REQUIRE(size == payload.size() - 4);
  REQUIRE(Bytes(payload.begin() + 4, payload.begin() + 8) == Bytes{0x28, 0xb5, 0x2f, 0xfd});
  REQUIRE((payload[8] & 0x04) != 0);  // content checksum flag
}

TEST_CASE("a payload that does not decompress to exactly one page is refused", "[codec]") {
  PageDecompressor d;
  for (auto e : kAllEncodings) {
    for (std::uint32_t size : {512u, 4096u}) {
      for (std::uint32_t wrong : {size - 1, size + 1, size / 2}) {
        const Bytes payload = compress(e, ltxtest::random_page(wrong, wrong));
        Bytes out(size);
        INFO(to_string(e) << ": " << wrong << " bytes into a " << size << "-byte page");
        REQUIRE_LTX_ERROR(d.decompress(e, payload, out, true, "t", 1), LtxErrorKind::kDecompress);
      }
    }
  }
}

TEST_CASE("a payload cut short is truncated at end of file, corrupt otherwise", "[codec]") {
  PageDecompressor d;
  for (auto e : kAllEncodings) {
    const Bytes payload = compress(e, ltxtest::random_page(4096, 1));
    Bytes out(4096);
    for (std::size_t cut : {std::size_t{0}, std::size_t{2}, std::size_t{5}, payload.size() - 1}) {
      const auto part = std::span(payload).first(cut);
      INFO(to_string(e) << " cut at " << cut);
      REQUIRE_LTX_ERROR(d.decompress(e, part, out, true, "t", 1), LtxErrorKind::kTruncated);
      REQUIRE_LTX_ERROR(d.decompress(e, part, out, false, "t", 1), LtxErrorKind::kDecompress);
    }
  }
}

TEST_CASE("the zstd frame header's unused bit is refused", "[codec]") {
  Bytes payload = compress(PageEncoding::kZstd, ltxtest::random_page(512, 9));
  Bytes out(512);
  PageDecompressor d;
  REQUIRE_NOTHROW(d.decompress(PageEncoding::kZstd, payload, out, true, "t", 1));
  payload[8] ^= 0x10;  // libzstd itself ignores this bit
  REQUIRE_LTX_ERROR(d.decompress(PageEncoding::kZstd, payload, out, true, "t", 1),
                    LtxErrorKind::kDecompress);
}

TEST_CASE("decode_frame reads one frame and checks it fills the range", "[codec]") {
  const Bytes page = ltxtest::random_page(1024, 5);
  for (auto e : kAllEncodings) {
    Bytes frame = {0, 0, 0, 7, 0, static_cast<std::uint8_t>(e)};
    frame[4] = static_cast<std::uint8_t>(static_cast<std::uint16_t>(e) >> 8);
    const Bytes payload = compress(e, page);
    frame.insert(frame.end(), payload.begin(), payload.end());
    INFO(to_string(e));
    REQUIRE(decode_frame(frame, 7, 1024) == page);
    REQUIRE_LTX_ERROR(decode_frame(frame, 8, 1024), LtxErrorKind::kIndexMismatch);
    Bytes longer = frame;
    longer.push_back(0);
    REQUIRE_LTX_ERROR(decode_frame(longer, 7, 1024), LtxErrorKind::kIndexMismatch);
    REQUIRE_LTX_ERROR(decode_frame(std::span(frame).first(frame.size() - 1), 7, 1024),
                      LtxErrorKind::kTruncated);
    REQUIRE_LTX_ERROR(decode_frame(std::span(frame).first(4), 7, 1024), LtxErrorKind::kTruncated);
    Bytes unknown = frame;
    unknown[5] = 0x02;
    unknown[4] = 0;
    REQUIRE_LTX_ERROR(decode_frame(unknown, 7, 1024), LtxErrorKind::kUnsupportedEncoding);
  }
}
