#include "ltx/file_digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <new>

#include "base/byte_order.h"

namespace ltxvfs::ltx {

struct FileDigest::Mac {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  ~Mac() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
};

FileDigest::FileDigest() = default;
FileDigest::~FileDigest() = default;

void FileDigest::use_mac(const EncryptionKey& key, std::span<const std::uint8_t> hashed_so_far) {
  auto m = std::make_unique<Mac>();
  m->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  m->ctx = m->mac ? EVP_MAC_CTX_new(m->mac) : nullptr;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_END};
  if (!m->ctx || EVP_MAC_init(m->ctx, key.mac_key().data(), key.mac_key().size(), params) != 1) {
    throw std::bad_alloc();
  }
  mac_ = std::move(m);
  update(hashed_so_far);
}

void FileDigest::update(std::span<const std::uint8_t> bytes) {
  if (mac_) {
    EVP_MAC_update(mac_->ctx, bytes.data(), bytes.size());
  } else {
    crc_.update(bytes);
  }
}

std::uint64_t FileDigest::value() {
  if (!mac_) return crc_.value();
  unsigned char out[64];
  std::size_t len = 0;
  EVP_MAC_final(mac_->ctx, out, &len, sizeof out);
  return base::load_be64(out) & ~(std::uint64_t{1} << 63);
}

}  // namespace ltxvfs::ltx
