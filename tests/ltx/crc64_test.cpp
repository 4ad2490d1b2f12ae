#include <catch2/catch.hpp>

#include <string_view>

#include "ltx/checksum.h"
#include "ltx/crc64.h"
#include "ltx/crc64_clmul.h"
#include "ltx/source.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;

namespace {

// Bit-at-a-time reference, straight from the definition (reflected, init/xorout all ones).
std::uint64_t reference_crc(std::span<const std::uint8_t> bytes) {
  std::uint64_t crc = ~std::uint64_t{0};
  for (std::uint8_t b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc & 1) ? (crc >> 1) ^ 0xD800000000000000ULL : crc >> 1;
  }
  return ~crc;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("CRC-64/GO-ISO check value of \"123456789\"", "[crc64]") {
  REQUIRE(crc64(as_bytes("123456789")) == 0xb90956c775a41001ULL);
  REQUIRE(reference_crc(as_bytes("123456789")) == 0xb90956c775a41001ULL);
}

TEST_CASE("CRC-64 of nothing is 0", "[crc64]") {
  REQUIRE(crc64({}) == 0);
}

TEST_CASE("CRC-64 matches the bitwise definition at every length and alignment", "[crc64]") {
  const Bytes data = ltxtest::random_page(1024, 42);
  for (std::size_t offset = 0; offset < 9; ++offset) {
    for (std::size_t len = 0; len + offset <= 300; ++len) {
      const auto s = std::span(data).subspan(offset, len);
      REQUIRE(crc64(s) == reference_crc(s));
    }
  }
}

TEST_CASE("incremental CRC-64 equals one-shot whatever the split", "[crc64]") {
  const Bytes data = ltxtest::random_page(200, 7);
  const std::uint64_t whole = crc64(data);
  for (std::size_t a = 0; a <= data.size(); ++a) {
    for (std::size_t b = a; b <= data.size(); b += 13) {
      Crc64 c;
      c.update(std::span(data).first(a));
      c.update(std::span(data).subspan(a, b - a));
      c.update(std::span(data).subspan(b));
      REQUIRE(c.value() == whole);
    }
  }
  Crc64 c;
  c.update(data);
  c.reset();
  REQUIRE(c.value() == 0);
}

TEST_CASE("a CRC extended from another over the same bytes equals one pass over them", "[crc64]") {
  // crc(A || B) = shift_|B|(crc(A)) ^ crc(B), and update_from() hashes B once for two CRCs.
  const Bytes data = ltxtest::random_page(70000, 11);
  for (std::size_t len : {0, 1, 7, 8, 15, 16, 100, 512, 4096, 65536}) {
    INFO("length " << len);
    const auto b = std::span(data).subspan(3000, len);
    const Crc64Shift shift(len);
    for (std::size_t a_len : {0, 1, 4, 9, 100}) {
      const auto a = std::span(data).subspan(100, a_len);
      Crc64 ab;
      ab.update(a);
      ab.update(b);
      REQUIRE((shift.apply(crc64(a)) ^ crc64(b)) == ab.value());
      // A running CRC over S, extended by B from crc(P || B) with P = 4 bytes elsewhere.
      const auto s = std::span(data).subspan(200, 37);
      const auto p = std::span(data).subspan(60000, 4);
      Crc64 pb;
      pb.update(p);
      pb.update(b);
      Crc64 extended;
      extended.update(s);
      extended.update_from(pb.value(), crc64(p), shift);
      Crc64 direct;
      direct.update(s);
      direct.update(b);
      REQUIRE(extended.value() == direct.value());
    }
  }
  // An LTX page: the page checksum's parts, and a file CRC continued over the page.
  const auto page = std::span(data).first(4096);
  REQUIRE((kChecksumFlag | page_crc(77, page)) == page_checksum(77, page));
  Crc64 file;
  file.update(std::span(data).subspan(5000, 106));
  file.update_from(page_crc(77, page), page_number_crc(77), Crc64Shift(4096));
  REQUIRE(file.value() == [&] {
    Crc64 c;
    c.update(std::span(data).subspan(5000, 106));
    c.update(page);
    return c.value();
  }());
}

TEST_CASE("carry-less CRC-64 equals the tables at every length, alignment and register",
          "[crc64]") {
  if (!detail::crc64_clmul_supported()) {
    WARN("this CPU has no PCLMULQDQ: Crc64 uses the tables only");
    return;
  }
  const Bytes data = ltxtest::random_page(9000, 3);
  // Lengths around every path of the folding code: below one block, one to seven blocks, the
  // four-register loop, its remainders, and whole pages.
  for (std::size_t offset = 0; offset < 17; offset += 3) {
    for (std::size_t len = 0; len + offset <= 700; ++len) {
      const std::uint8_t* p = data.data() + offset;
      for (const std::uint64_t reg :
           {~std::uint64_t{0}, std::uint64_t{0}, std::uint64_t{0x0123456789abcdef}}) {
        REQUIRE(detail::crc64_update_clmul(reg, p, len) ==
                detail::crc64_update_tables(reg, p, len));
      }
    }
  }
  for (const std::size_t len : {1024u, 4096u, 4097u, 8191u, 8192u}) {
    const auto s = std::span(data).first(len);
    REQUIRE(detail::crc64_update_clmul(~std::uint64_t{0}, s.data(), s.size()) == ~reference_crc(s));
  }
}

TEST_CASE("legacy v1 file checksum is (1<<63) | CRC of all bytes but the last 8", "[crc64]") {
  const Bytes file = read_file(LTXVFS_TEST_DATA_DIR "/000000000000000d-000000000000000d.ltx");
  REQUIRE(file.size() == 12420);
  const std::uint64_t computed = kChecksumFlag | crc64(std::span(file).first(12412));
  REQUIRE(computed == 0x9496a29358326fb5ULL);
  std::uint64_t stored = 0;
  for (std::size_t i = 12412; i < 12420; ++i) stored = (stored << 8) | file[i];
  REQUIRE(stored == computed);
}
