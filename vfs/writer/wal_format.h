// SQLite's WAL file format: the 32-byte header, 24-byte frame headers and the WAL checksum.
// (https://www.sqlite.org/fileformat2.html#walformat). No SQLite dependency: this reads bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace ltxvfs::writer {

inline constexpr uint32_t kWalMagicLittleEndian = 0x377f0682;  // checksums over LE words
inline constexpr uint32_t kWalMagicBigEndian = 0x377f0683;     // checksums over BE words
inline constexpr uint64_t kWalHeaderSize = 32;
inline constexpr uint64_t kWalFrameHeaderSize = 24;

struct WalChecksum {
  uint32_t s1 = 0;
  uint32_t s2 = 0;
  bool operator==(const WalChecksum&) const = default;
};

// SQLite's running checksum: over 8-byte chunks, s1 += x0 + s2; s2 += x1 + s1. `data` must be a
// multiple of 8 bytes.
WalChecksum wal_checksum(std::span<const uint8_t> data, bool big_endian_words, WalChecksum seed);

struct WalSalts {
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  bool operator==(const WalSalts&) const = default;
};

struct WalHeader {
  uint32_t magic = 0;
  uint32_t version = 0;
  uint32_t page_size = 0;
  uint32_t checkpoint_seq = 0;
  WalSalts salts;
  WalChecksum checksum;  // over the first 24 bytes; seeds the first frame's checksum

  bool big_endian_checksums() const { return magic == kWalMagicBigEndian; }
};

// Parses and validates a WAL header (magic, version 3007000, page size, header checksum).
// Returns nullopt for anything that is not a valid header: SQLite itself ignores such a WAL.
std::optional<WalHeader> parse_wal_header(std::span<const uint8_t, kWalHeaderSize> bytes);

struct WalFrameHeader {
  uint32_t pgno = 0;
  uint32_t commit = 0;  // database size in pages after this frame if it ends a transaction, else 0
  WalSalts salts;
  WalChecksum checksum;
};

WalFrameHeader parse_wal_frame_header(std::span<const uint8_t, kWalFrameHeaderSize> bytes);

// Byte offset of frame number `frame` (1-based, as SQLite counts them).
inline uint64_t wal_frame_offset(uint64_t frame, uint32_t page_size) {
  return kWalHeaderSize + (frame - 1) * (kWalFrameHeaderSize + page_size);
}
// Offset just past the last byte of frame `frame` (0 → just past the header).
inline uint64_t wal_end_offset(uint64_t frames, uint32_t page_size) {
  return kWalHeaderSize + frames * (kWalFrameHeaderSize + page_size);
}

}  // namespace ltxvfs::writer
