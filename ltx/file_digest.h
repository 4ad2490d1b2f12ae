// What the trailer's file checksum is computed with: CRC-64 for plaintext files, HMAC-SHA256
// (first 8 bytes) under the key's MAC key for encrypted ones. An encrypted file's checksum must
// not be a CRC of plaintext (that would let a bucket reader confirm a guessed page) and must be
// something a bucket writer cannot recompute after dropping or reordering frames; the frames' GCM
// tags already authenticate each frame's bytes, so the MAC covers each frame's page header and tag
// instead of its bytes (22 bytes a page: no measurable cost).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "ltx/crc64.h"
#include "ltx/encryption_key.h"

namespace ltxvfs::ltx {

class FileDigest {
 public:
  FileDigest();  // CRC-64
  ~FileDigest();
  FileDigest(const FileDigest&) = delete;
  FileDigest& operator=(const FileDigest&) = delete;

  // Switches to HMAC-SHA256 under `key`, feeding it what was hashed so far (the header).
  void use_mac(const EncryptionKey& key, std::span<const std::uint8_t> hashed_so_far);
  bool is_mac() const { return mac_ != nullptr; }

  void update(std::span<const std::uint8_t> bytes);
  // Extends the CRC over `page` (of `page_shift`'s length) and returns page_checksum(pgno, page):
  // one pass over the page for both (Crc64::update_from). A CRC-64 digest only (not is_mac()).
  std::uint64_t update_page(std::uint32_t pgno, std::span<const std::uint8_t> page,
                            const Crc64Shift& page_shift);
  // Crc64::append, for a CRC-64 digest only.
  void append(std::uint64_t crc, const Crc64Shift& shift);
  // The checksum without bit 63 (callers set it). Ends a MAC: call once.
  std::uint64_t value();

 private:
  struct Mac;
  Crc64 crc_;
  std::unique_ptr<Mac> mac_;
};

}  // namespace ltxvfs::ltx
