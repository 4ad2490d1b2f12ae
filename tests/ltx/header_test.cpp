#include <catch2/catch.hpp>

#include "ltx/checksum.h"
#include "ltx/file_name.h"
#include "ltx/header.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;

namespace {

Header full_header() {
  Header h;
  h.flags = kHeaderFlagNoChecksum;
  h.page_size = 4096;
  h.commit = 0x01020304;
  h.min_txid = 0x1112131415161718;
  h.max_txid = 0x2122232425262728;
  h.timestamp_ms = 0x3132333435363738;
  h.pre_apply_checksum = 0;
  h.wal_offset = 0x5152535455565758;
  h.wal_size = 0x6162636465666768;
  h.wal_salt1 = 0x71727374;
  h.wal_salt2 = 0x75767778;
  h.node_id = 0x8182838485868788;
  return h;
}

}  // namespace

TEST_CASE("header encodes every field big-endian at its offset", "[header]") {
  const auto b = full_header().encode();
  REQUIRE(b.size() == 100);
  const Bytes expected_prefix = {'L', 'T', 'X', '1', 0, 0, 0, 2, 0, 0, 0x10, 0, 1, 2, 3, 4};
  REQUIRE(Bytes(b.begin(), b.begin() + 16) == expected_prefix);
  REQUIRE(b[16] == 0x11);
  REQUIRE(b[23] == 0x18);
  REQUIRE(b[24] == 0x21);
  REQUIRE(b[32] == 0x31);
  REQUIRE(b[48] == 0x51);
  REQUIRE(b[56] == 0x61);
  REQUIRE(b[64] == 0x71);
  REQUIRE(b[68] == 0x75);
  REQUIRE(b[72] == 0x81);
  REQUIRE(b[79] == 0x88);
  for (std::size_t i = 80; i < 100; ++i) REQUIRE(b[i] == 0);
  REQUIRE(Header::decode(b) == full_header());
}

TEST_CASE("header decode: magic, size and reserved bytes", "[header]") {
  auto b = full_header().encode();
  Bytes bytes(b.begin(), b.end());
  bytes[0] = 'X';
  REQUIRE_LTX_ERROR(Header::decode(bytes), LtxErrorKind::kBadMagic);
  bytes[0] = 'L';
  REQUIRE_LTX_ERROR(Header::decode(std::span(bytes).first(99)), LtxErrorKind::kTruncated);
  REQUIRE_LTX_ERROR(Header::decode(std::span(bytes).first(2)), LtxErrorKind::kTruncated);
  bytes[97] = 1;  // reserved: 96..99 (88..95 is the database id of an encrypted file)
  REQUIRE_LTX_ERROR(Header::decode(bytes), LtxErrorKind::kBadHeader);
  bytes[97] = 0;
  bytes[90] = 1;  // decodes, but a file that is not encrypted has no database id
  REQUIRE_LTX_ERROR(Header::decode(bytes).validate(), LtxErrorKind::kBadHeader);
}

TEST_CASE("header validation rules", "[header]") {
  auto valid = ltxtest::make_header(4096, 3, 2, 5, kChecksumFlag | 99);
  REQUIRE_NOTHROW(valid.validate());

  auto h = valid;
  h.flags = 0x4;  // upstream's later encryption flag: unknown here
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadFlags);
  h.flags = kHeaderFlagNativeExtensions;
  REQUIRE_NOTHROW(h.validate());

  for (std::uint32_t bad : {0u, 256u, 1000u, 4095u, 131072u}) {
    h = valid;
    h.page_size = bad;
    INFO("page size " << bad);
    REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadPageSize);
  }
  for (std::uint32_t good : {512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u, 65536u}) {
    h = valid;
    h.page_size = good;
    REQUIRE_NOTHROW(h.validate());
  }

  h = valid;
  h.min_txid = 0;
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadTxid);
  h = valid;
  h.max_txid = 1;
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadTxid);

  h = valid;
  h.wal_size = 10;  // without an offset
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadHeader);
  h = valid;
  h.wal_salt1 = 1;
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadHeader);
  h = valid;
  h.wal_offset = -32;
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadHeader);
  h = valid;
  h.wal_offset = 32;
  h.wal_size = 4120;
  h.wal_salt1 = 1;
  h.wal_salt2 = 2;
  REQUIRE_NOTHROW(h.validate());

  // Pre-apply checksum rules.
  h = valid;
  h.pre_apply_checksum = 0;  // checksums on, incremental: required
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadHeader);
  h.pre_apply_checksum = 99;  // without bit 63
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadHeader);
  h = valid;
  h.flags = kHeaderFlagNoChecksum;  // NoChecksum: must be zero
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadHeader);
  h.pre_apply_checksum = 0;
  REQUIRE_NOTHROW(h.validate());
  h = valid;
  h.min_txid = 1;  // snapshot: must be zero
  REQUIRE(h.is_snapshot());
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadHeader);
  h.pre_apply_checksum = 0;
  REQUIRE_NOTHROW(h.validate());
}

TEST_CASE("validation errors name the file", "[header]") {
  auto h = ltxtest::make_header(1000, 1, 1, 1);
  std::string msg;
  LTX_ERROR_MESSAGE(h.validate("0000000000000001-0000000000000001.ltx"), msg);
  REQUIRE_THAT(msg, Catch::Contains("0000000000000001-0000000000000001.ltx: page size 1000"));
}

TEST_CASE("trailer encode/decode and rules", "[header]") {
  const Trailer t{0x8000000000000001ULL, 0x9000000000000002ULL};
  const auto b = t.encode();
  REQUIRE(b[0] == 0x80);
  REQUIRE(b[7] == 0x01);
  REQUIRE(b[8] == 0x90);
  REQUIRE(Trailer::decode(b) == t);

  Header with = ltxtest::make_header(4096, 1, 1, 1);
  Header without = with;
  without.flags = kHeaderFlagNoChecksum;
  REQUIRE_NOTHROW(t.validate(with));
  REQUIRE_LTX_ERROR(t.validate(without), LtxErrorKind::kBadTrailer);
  REQUIRE_NOTHROW((Trailer{0, 1}.validate(without)));
  REQUIRE_LTX_ERROR((Trailer{0, 1}.validate(with)), LtxErrorKind::kBadTrailer);
  REQUIRE_LTX_ERROR((Trailer{5, 1}.validate(with)), LtxErrorKind::kBadTrailer);
}

TEST_CASE("LTX file names", "[header]") {
  REQUIRE(format_ltx_name(1, 1) == "0000000000000001-0000000000000001.ltx");
  REQUIRE(format_ltx_name(0xd, 0x3e8) == "000000000000000d-00000000000003e8.ltx");
  REQUIRE(format_ltx_name(~0ULL, ~0ULL) == "ffffffffffffffff-ffffffffffffffff.ltx");

  REQUIRE(parse_ltx_name("000000000000000d-00000000000003e8.ltx") == LtxName{0xd, 0x3e8});
  REQUIRE(parse_ltx_name("ffffffffffffffff-ffffffffffffffff.ltx") == LtxName{~0ULL, ~0ULL});
  for (const char* bad :
       {"", "0000000000000001.ltx", "000000000000000z-00000000000003e8.ltx",
        "000000000000000D-00000000000003e8.ltx", "000000000000000d-00000000000003e8.zzz",
        "000000000000000d_00000000000003e8.ltx", "00000000000000d-00000000000003e8.ltx",
        "000000000000000d-00000000000003e8.ltx.tmp", "x000000000000000d-00000000000003e8.ltx"}) {
    INFO(bad);
    REQUIRE_FALSE(parse_ltx_name(bad).has_value());
  }
  for (std::uint64_t v : {0ULL, 1ULL, 0x123456789abcdefULL, ~0ULL}) {
    REQUIRE(parse_ltx_name(format_ltx_name(v, v + 1)) == LtxName{v, v + 1});
  }
}
