#include "storage/s3/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>
#include <vector>

namespace ltxvfs::storage::crypto {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void digest(std::span<const uint8_t> data, const EVP_MD* md, uint8_t* out) {
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL digest failed");
  }
}

}  // namespace

Sha256 sha256(std::span<const uint8_t> data) {
  Sha256 out{};
  digest(data, EVP_sha256(), out.data());
  return out;
}

Sha256 sha256(std::string_view data) {
  return sha256(bytes_of(data));
}

struct Sha256Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256Hasher::Sha256Hasher() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 initialisation failed");
  }
}

Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::update(std::span<const uint8_t> data) {
  if (EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1) {
    throw std::runtime_error("OpenSSL digest failed");
  }
}

Sha256 Sha256Hasher::finish() {
  Sha256 out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, out.data(), &len) != 1) {
    throw std::runtime_error("OpenSSL digest failed");
  }
  return out;
}

Sha256 hmac_sha256(std::span<const uint8_t> key, std::string_view data) {
  Sha256 out{};
  unsigned int len = 0;
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), d, data.size(), out.data(),
           &len) == nullptr) {
    throw std::runtime_error("OpenSSL HMAC failed");
  }
  return out;
}

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string sha256_hex(std::span<const uint8_t> data) {
  return hex(sha256(data));
}
std::string sha256_hex(std::string_view data) {
  return hex(sha256(data));
}

std::string base64(std::span<const uint8_t> bytes) {
  std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(out.data(), bytes.data(), static_cast<int>(bytes.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n));
}

std::string md5_base64(std::string_view data) {
  std::array<uint8_t, 16> out{};
  digest(bytes_of(data), EVP_md5(), out.data());
  return base64(out);
}

}  // namespace ltxvfs::storage::crypto
