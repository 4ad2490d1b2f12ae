// The 100-byte LTX header and the 16-byte trailer (layout in docs/FORMAT.md).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace ltxvfs::ltx {

inline constexpr std::size_t kHeaderSize = 100;
inline constexpr std::size_t kTrailerSize = 16;
inline constexpr std::string_view kMagic = "LTX1";

// The only flag Litestream knows (and the only value it accepts): no pre/post-apply checksums.
inline constexpr std::uint32_t kHeaderFlagNoChecksum = 0x00000002;
// This project's extension marker: the file may use page encodings only ltxvfs defines (zstd).
// Litestream rejects any header flag other than 0x2, so it refuses such a file up front instead
// of failing (or worse, succeeding) halfway through its pages. A high bit keeps clear of the low
// bits upstream would allocate next.
inline constexpr std::uint32_t kHeaderFlagNativeExtensions = 0x01000000;
// Encrypted file (docs/FORMAT.md, docs/SECURITY.md): pages are zstd+AES-256-GCM, the header's
// bytes 80..87 hold the key id and 88..95 the database id, and the trailer's file checksum is a
// keyed MAC instead of a CRC. Only together with kHeaderFlagNativeExtensions.
inline constexpr std::uint32_t kHeaderFlagEncrypted = 0x02000000;
inline constexpr std::uint32_t kKnownHeaderFlags =
    kHeaderFlagNoChecksum | kHeaderFlagNativeExtensions | kHeaderFlagEncrypted;

inline constexpr std::uint32_t kMinPageSize = 512;
inline constexpr std::uint32_t kMaxPageSize = 65536;

constexpr bool is_valid_page_size(std::uint32_t size) {
  return size >= kMinPageSize && size <= kMaxPageSize && (size & (size - 1)) == 0;
}

struct Header {
  std::uint32_t flags = 0;
  std::uint32_t page_size = 0;
  std::uint32_t commit = 0;  // database size in pages after applying this file
  std::uint64_t min_txid = 0;
  std::uint64_t max_txid = 0;
  std::int64_t timestamp_ms = 0;  // milliseconds since the Unix epoch
  std::uint64_t pre_apply_checksum = 0;
  std::int64_t wal_offset = 0;  // int64 as in the Go code, which rejects negative values
  std::int64_t wal_size = 0;
  std::uint32_t wal_salt1 = 0;
  std::uint32_t wal_salt2 = 0;
  std::uint64_t node_id = 0;
  std::uint64_t key_id = 0;  // bytes 80..87: the encryption key's id (encrypted files only)
  // Bytes 88..95, encrypted files only: the random id of the database whose history this file
  // is, which every frame's authenticated data binds (docs/FORMAT.md), so a frame or a file of
  // another database sealed with the same key does not open here.
  std::uint64_t database_id = 0;

  // A file starting at TXID 1 holds the whole database.
  bool is_snapshot() const { return min_txid == 1; }
  bool has_checksums() const { return (flags & kHeaderFlagNoChecksum) == 0; }
  bool has_native_extensions() const { return (flags & kHeaderFlagNativeExtensions) != 0; }
  bool is_encrypted() const { return (flags & kHeaderFlagEncrypted) != 0; }

  // Serialises the fields as they are (no validation).
  std::array<std::uint8_t, kHeaderSize> encode() const;

  // Parses 100 bytes. Checks only what the struct cannot represent: size (kTruncated), the magic
  // (kBadMagic) and the reserved bytes (kBadHeader). Field rules are validate()'s job, so a caller
  // can look at a header (e.g. to recognise a legacy file) before judging it.
  static Header decode(std::span<const std::uint8_t> bytes, std::string_view file_name = {});

  // Throws LtxError (kBadFlags, kBadPageSize, kBadTxid, kBadHeader) unless every rule holds.
  void validate(std::string_view file_name = {}) const;

  bool operator==(const Header&) const = default;
};

struct Trailer {
  std::uint64_t post_apply_checksum = 0;
  std::uint64_t file_checksum = 0;

  std::array<std::uint8_t, kTrailerSize> encode() const;
  static Trailer decode(std::span<const std::uint8_t, kTrailerSize> bytes);

  // Post-apply rules against the header: zero when the header says NoChecksum, otherwise present
  // (bit 63 set). Throws kBadTrailer. The file checksum is verified by the decoder, not here.
  void validate(const Header& header, std::string_view file_name = {}) const;

  bool operator==(const Trailer&) const = default;
};

}  // namespace ltxvfs::ltx
