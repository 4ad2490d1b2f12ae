// The few digests the S3 protocol needs, on OpenSSL: SHA-256 (payload hashes, SigV4), HMAC-SHA256
// (SigV4 signing key and signature), MD5 (the Content-MD5 that DeleteObjects requires).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace ltxvfs::storage::crypto {

using Sha256 = std::array<uint8_t, 32>;

Sha256 sha256(std::span<const uint8_t> data);
Sha256 sha256(std::string_view data);
Sha256 hmac_sha256(std::span<const uint8_t> key, std::string_view data);

// SHA-256 of data fed in pieces (a large PUT body hashed chunk by chunk).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void update(std::span<const uint8_t> data);
  // The digest of everything fed so far; the hasher cannot be used afterwards.
  Sha256 finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string hex(std::span<const uint8_t> bytes);  // lower-case
std::string sha256_hex(std::span<const uint8_t> data);
std::string sha256_hex(std::string_view data);
std::string base64(std::span<const uint8_t> bytes);
std::string md5_base64(std::string_view data);

}  // namespace ltxvfs::storage::crypto
