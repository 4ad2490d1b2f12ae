#include "ltx/encryption_key.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "base/byte_order.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "ltx/error.h"

namespace ltxvfs::ltx {
namespace {

std::array<std::uint8_t, 32> derive(std::span<const std::uint8_t> key, std::string_view label) {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(label.data()), label.size(), out.data(), &len);
  return out;
}

EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // kept for the process
  return mac;
}

// An HMAC-SHA256 context keyed with `key`: the template copies are made from.
EVP_MAC_CTX* keyed_hmac(const std::array<std::uint8_t, 32>& key) {
  EVP_MAC_CTX* ctx = hmac_algorithm() ? EVP_MAC_CTX_new(hmac_algorithm()) : nullptr;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_END};
  if (ctx == nullptr || EVP_MAC_init(ctx, key.data(), key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx);
    throw std::bad_alloc();
  }
  return ctx;
}

EVP_MAC_CTX* copy(EVP_MAC_CTX* tmpl) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(tmpl);
  if (ctx == nullptr) throw std::bad_alloc();
  return ctx;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Messages describe the text by its length only: it is a secret.
[[noreturn]] void bad_key(std::size_t length) {
  throw LtxError(LtxErrorKind::kInvalidArgument, "encryption key",
                 "a key is 64 hex characters or the base64 of 32 bytes; got " +
                     std::to_string(length) + " characters that are neither");
}

// The process's loaded keys (register_keys), found by id when a file names one.
struct Registry {
  base::Mutex mu;
  std::vector<KeyPtr> keys GUARDED_BY(mu);
};

Registry& registry() {
  static auto* r = new Registry();  // never destroyed: decoders may run at exit
  return *r;
}

KeyPtr find_locked(Registry& r, std::uint64_t id) REQUIRES(r.mu) {
  for (const KeyPtr& key : r.keys) {
    if (key->id() == id) return key;
  }
  return nullptr;
}

}  // namespace

EncryptionKey::EncryptionKey(std::span<const std::uint8_t> key) {
  if (key.size() != kKeySize) {
    throw LtxError(LtxErrorKind::kInvalidArgument, "encryption key",
                   "got " + std::to_string(key.size()) + " bytes, expected 32");
  }
  id_ = base::load_be64(derive(key, "ltxvfs key id").data());
  auto page_key = derive(key, "ltxvfs page encryption");
  auto mac_key = derive(key, "ltxvfs file mac");
  page_prf_ = keyed_hmac(page_key);
  file_mac_ = keyed_hmac(mac_key);
  OPENSSL_cleanse(page_key.data(), page_key.size());
  OPENSSL_cleanse(mac_key.data(), mac_key.size());
}

EncryptionKey::~EncryptionKey() {
  EVP_MAC_CTX_free(page_prf_);  // OpenSSL clears the key material it frees
  EVP_MAC_CTX_free(file_mac_);
}

EVP_MAC_CTX* EncryptionKey::new_page_prf() const {
  return copy(page_prf_);
}

EVP_MAC_CTX* EncryptionKey::new_file_mac() const {
  return copy(file_mac_);
}

const EVP_CIPHER* aes_256_gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (cipher == nullptr) throw std::bad_alloc();
  return cipher;
}

std::string key_id_hex(std::uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

std::uint64_t new_database_id() {
  std::uint64_t id = 0;
  while (id == 0) {
    std::uint8_t bytes[8];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      throw LtxError(LtxErrorKind::kIo, "encryption", "the system's random generator failed");
    }
    id = base::load_be64(bytes);
  }
  return id;
}

KeyPtr parse_key(std::string_view text) {
  text = trim(text);
  std::array<std::uint8_t, kKeySize> raw{};
  bool ok = false;
  if (text.size() == 2 * kKeySize) {
    ok = true;
    for (std::size_t i = 0; i < kKeySize && ok; ++i) {
      const int hi = hex_digit(text[2 * i]);
      const int lo = hex_digit(text[2 * i + 1]);
      ok = hi >= 0 && lo >= 0;
      raw[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
  } else if (text.size() == 44 && text.back() == '=') {
    // 32 bytes of base64: 43 characters and one '=' of padding decode to 33 with a zero tail.
    std::array<std::uint8_t, 36> out{};
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    ok = n == 33 && text[42] != '=';
    std::copy_n(out.begin(), kKeySize, raw.begin());
    OPENSSL_cleanse(out.data(), out.size());
  }
  if (!ok) bad_key(text.size());
  auto key = std::make_shared<const EncryptionKey>(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

KeyRing KeyRing::parse(std::string_view text) {
  KeyRing ring;
  while (!text.empty()) {
    const std::size_t cut = text.find_first_of(",\n");
    const std::string_view item = trim(text.substr(0, cut));
    if (!item.empty()) ring.keys.push_back(parse_key(item));
    text = cut == std::string_view::npos ? std::string_view{} : text.substr(cut + 1);
  }
  return ring;
}

void register_keys(const KeyRing& ring) {
  Registry& r = registry();
  base::MutexLock lock(r.mu);
  for (const KeyPtr& key : ring.keys) {
    if (!find_locked(r, key->id())) r.keys.push_back(key);
  }
}

KeyPtr find_key(std::uint64_t id) {
  Registry& r = registry();
  base::MutexLock lock(r.mu);
  return find_locked(r, id);
}

std::vector<std::uint64_t> registered_key_ids() {
  Registry& r = registry();
  base::MutexLock lock(r.mu);
  std::vector<std::uint64_t> ids;
  for (const KeyPtr& key : r.keys) ids.push_back(key->id());
  return ids;
}

void throw_missing_key(std::string_view file_name, std::uint64_t id) {
  const auto loaded = registered_key_ids();
  std::string detail = "encrypted with key id " + key_id_hex(id) +
                       "; set LTX_ENCRYPTION_KEY or encryption_key_file= to that key";
  if (loaded.empty()) {
    detail += " (no key is loaded)";
  } else {
    detail += " (keys loaded: ";
    for (std::size_t i = 0; i < loaded.size(); ++i) {
      detail += (i ? ", " : "") + key_id_hex(loaded[i]);
    }
    detail += ")";
  }
  throw LtxError(LtxErrorKind::kEncryptionKey, file_name, detail);
}

}  // namespace ltxvfs::ltx
