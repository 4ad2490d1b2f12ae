#include "ltx/header.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "base/byte_order.h"
#include "ltx/checksum.h"
#include "ltx/error.h"

namespace ltxvfs::ltx {
namespace {

constexpr std::size_t kKeyIdOffset = 80;
constexpr std::size_t kDatabaseIdOffset = 88;
constexpr std::size_t kReservedOffset = 96;

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

[[noreturn]] void fail(LtxErrorKind kind, std::string_view name, const std::string& detail) {
  throw LtxError(kind, name, detail);
}

}  // namespace

std::array<std::uint8_t, kHeaderSize> Header::encode() const {
  std::array<std::uint8_t, kHeaderSize> b{};
  std::copy(kMagic.begin(), kMagic.end(), b.begin());
  std::uint8_t* p = b.data();
  base::store_be32(p + 4, flags);
  base::store_be32(p + 8, page_size);
  base::store_be32(p + 12, commit);
  base::store_be64(p + 16, min_txid);
  base::store_be64(p + 24, max_txid);
  base::store_be64(p + 32, static_cast<std::uint64_t>(timestamp_ms));
  base::store_be64(p + 40, pre_apply_checksum);
  base::store_be64(p + 48, static_cast<std::uint64_t>(wal_offset));
  base::store_be64(p + 56, static_cast<std::uint64_t>(wal_size));
  base::store_be32(p + 64, wal_salt1);
  base::store_be32(p + 68, wal_salt2);
  base::store_be64(p + 72, node_id);
  base::store_be64(p + kKeyIdOffset, key_id);
  base::store_be64(p + kDatabaseIdOffset, database_id);
  return b;  // bytes 96..99 stay zero (reserved)
}

Header Header::decode(std::span<const std::uint8_t> bytes, std::string_view file_name) {
  if (bytes.size() >= kMagic.size() && !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    fail(LtxErrorKind::kBadMagic, file_name,
         "not an LTX file: it starts with bytes " + hex32(base::load_be32(bytes.data())) +
             ", expected 0x4c545831 (\"LTX1\")");
  }
  if (bytes.size() < kHeaderSize) {
    fail(LtxErrorKind::kTruncated, file_name,
         "file is " + std::to_string(bytes.size()) + " bytes, shorter than the " +
             std::to_string(kHeaderSize) + "-byte header");
  }
  const std::uint8_t* p = bytes.data();
  for (std::size_t i = kReservedOffset; i < kHeaderSize; ++i) {
    if (p[i] != 0) {
      fail(LtxErrorKind::kBadHeader, file_name,
           "reserved header byte " + std::to_string(i) + " is " + std::to_string(p[i]) +
               ", expected 0 (written by a newer or broken encoder)");
    }
  }
  Header h;
  h.flags = base::load_be32(p + 4);
  h.page_size = base::load_be32(p + 8);
  h.commit = base::load_be32(p + 12);
  h.min_txid = base::load_be64(p + 16);
  h.max_txid = base::load_be64(p + 24);
  h.timestamp_ms = static_cast<std::int64_t>(base::load_be64(p + 32));
  h.pre_apply_checksum = base::load_be64(p + 40);
  h.wal_offset = static_cast<std::int64_t>(base::load_be64(p + 48));
  h.wal_size = static_cast<std::int64_t>(base::load_be64(p + 56));
  h.wal_salt1 = base::load_be32(p + 64);
  h.wal_salt2 = base::load_be32(p + 68);
  h.node_id = base::load_be64(p + 72);
  h.key_id = base::load_be64(p + kKeyIdOffset);
  h.database_id = base::load_be64(p + kDatabaseIdOffset);
  return h;
}

void Header::validate(std::string_view file_name) const {
  if ((flags & ~kKnownHeaderFlags) != 0) {
    fail(LtxErrorKind::kBadFlags, file_name,
         "unknown header flags " + hex64(flags & ~kKnownHeaderFlags) + " (flags " + hex64(flags) +
             "; this reader knows 0x2 NoChecksum, " + hex64(kHeaderFlagNativeExtensions) +
             " ltxvfs native extensions and " + hex64(kHeaderFlagEncrypted) + " encrypted)");
  }
  if (is_encrypted() && (!has_native_extensions() || key_id == 0 || database_id == 0)) {
    fail(LtxErrorKind::kBadFlags, file_name,
         "the encrypted flag needs the native-extensions flag, a non-zero key id and a non-zero "
         "database id");
  }
  if (!is_encrypted() && (key_id != 0 || database_id != 0)) {
    fail(LtxErrorKind::kBadHeader, file_name,
         "reserved header bytes 80..95 are set in a file that is not encrypted");
  }
  if (!is_valid_page_size(page_size)) {
    fail(LtxErrorKind::kBadPageSize, file_name,
         "page size " + std::to_string(page_size) + " is not a power of two between 512 and 65536");
  }
  if (min_txid == 0) fail(LtxErrorKind::kBadTxid, file_name, "min TXID is 0, expected >= 1");
  if (max_txid < min_txid) {
    fail(LtxErrorKind::kBadTxid, file_name,
         "max TXID " + std::to_string(max_txid) + " is below min TXID " + std::to_string(min_txid));
  }
  if (wal_offset < 0 || wal_size < 0) {
    fail(LtxErrorKind::kBadHeader, file_name,
         "negative WAL offset/size (" + std::to_string(wal_offset) + ", " +
             std::to_string(wal_size) + ")");
  }
  if (wal_offset == 0 && (wal_size != 0 || wal_salt1 != 0 || wal_salt2 != 0)) {
    fail(LtxErrorKind::kBadHeader, file_name,
         "WAL size/salts are set but WAL offset is 0 (a WAL position needs its offset)");
  }
  if (is_snapshot() || !has_checksums()) {
    if (pre_apply_checksum != 0) {
      fail(LtxErrorKind::kBadHeader, file_name,
           "pre-apply checksum " + hex64(pre_apply_checksum) + " must be 0 " +
               (is_snapshot() ? "in a snapshot (min TXID 1)" : "when the NoChecksum flag is set"));
    }
  } else if ((pre_apply_checksum & kChecksumFlag) == 0) {
    fail(LtxErrorKind::kBadHeader, file_name,
         "pre-apply checksum " + hex64(pre_apply_checksum) +
             " lacks bit 63 (an incremental file with checksums must carry one)");
  }
}

std::array<std::uint8_t, kTrailerSize> Trailer::encode() const {
  std::array<std::uint8_t, kTrailerSize> b{};
  base::store_be64(b.data(), post_apply_checksum);
  base::store_be64(b.data() + 8, file_checksum);
  return b;
}

Trailer Trailer::decode(std::span<const std::uint8_t, kTrailerSize> bytes) {
  return Trailer{base::load_be64(bytes.data()), base::load_be64(bytes.data() + 8)};
}

void Trailer::validate(const Header& header, std::string_view file_name) const {
  if (!header.has_checksums()) {
    if (post_apply_checksum != 0) {
      fail(LtxErrorKind::kBadTrailer, file_name,
           "post-apply checksum " + hex64(post_apply_checksum) +
               " must be 0 when the NoChecksum flag is set");
    }
  } else if ((post_apply_checksum & kChecksumFlag) == 0) {
    fail(LtxErrorKind::kBadTrailer, file_name,
         "post-apply checksum " + hex64(post_apply_checksum) + " lacks bit 63");
  }
}

}  // namespace ltxvfs::ltx
