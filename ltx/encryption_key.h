// Keys for encrypted LTX files (docs/SECURITY.md). A key is 32 bytes the user supplies; nothing
// in a file or a message ever holds it, only its key id: the first 8 bytes of
// HMAC-SHA256(key, "ltxvfs key id"), enough to tell keys apart and to name the one a file needs.
//
// The bytes used on the wire are derived from the key by HMAC-SHA256 with fixed labels, one per
// job (page encryption, file MAC), so no key serves two algorithms.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ltxvfs::ltx {

inline constexpr std::size_t kKeySize = 32;

class EncryptionKey {
 public:
  // Throws LtxError kInvalidArgument unless `key` is 32 bytes.
  explicit EncryptionKey(std::span<const std::uint8_t> key);
  ~EncryptionKey();  // wipes the derived keys
  EncryptionKey(const EncryptionKey&) = delete;
  EncryptionKey& operator=(const EncryptionKey&) = delete;

  std::uint64_t id() const { return id_; }

  // HMAC-SHA256 contexts already keyed, each a copy of a template made once per key: OpenSSL 3
  // looks algorithms up by name on every fresh init (~3 us together), which a one-page
  // transaction file would pay several times. The caller frees them (EVP_MAC_CTX_free).
  // Under the page key: derives each TXID range's AES key (page_cipher.cpp).
  EVP_MAC_CTX* new_page_prf() const;
  // Under the MAC key: the file MAC (file_digest.h).
  EVP_MAC_CTX* new_file_mac() const;

 private:
  std::uint64_t id_ = 0;
  EVP_MAC_CTX* page_prf_ = nullptr;  // HMAC keyed with HMAC(key, "ltxvfs page encryption")
  EVP_MAC_CTX* file_mac_ = nullptr;  // HMAC keyed with HMAC(key, "ltxvfs file mac")
};

// AES-256-GCM, looked up once for the process.
const EVP_CIPHER* aes_256_gcm();

using KeyPtr = std::shared_ptr<const EncryptionKey>;

// "3f2a09c1d4e5f607": how messages name a key.
std::string key_id_hex(std::uint64_t id);
// The same for a database id (Header::database_id).
inline std::string database_id_hex(std::uint64_t id) {
  return key_id_hex(id);
}
// A fresh database id: 8 random bytes from OpenSSL's generator, never 0. Throws LtxError kIo when
// the generator fails.
std::uint64_t new_database_id();

// Parses one key: 64 hex characters, or base64 of exactly 32 bytes (surrounding whitespace
// ignored). Throws LtxError kInvalidArgument with a message that never repeats the text.
KeyPtr parse_key(std::string_view text);

// Keys for reading and writing: the first writes, every one reads (rotation keeps old keys here
// until no file under them remains).
struct KeyRing {
  std::vector<KeyPtr> keys;

  bool empty() const { return keys.empty(); }
  const KeyPtr& writer() const { return keys.front(); }
  // Parses a comma- or newline-separated list of keys (parse_key each).
  static KeyRing parse(std::string_view text);
};

// The process's keys for reading, looked up by the key id a file names. Every key a database
// open, a replica or the CLI loads is added here, so decoders anywhere in the process (restore,
// compaction, replica reads) find it without each call path carrying a key: a process that holds
// a key may read what it encrypted. Thread-safe.
void register_keys(const KeyRing& ring);
KeyPtr find_key(std::uint64_t id);
// The ids registered, for "no key with id X (loaded: Y, Z)" messages.
std::vector<std::uint64_t> registered_key_ids();

// The LtxError (kEncryptionKey) a reader throws for a file under key `id` it cannot find.
[[noreturn]] void throw_missing_key(std::string_view file_name, std::uint64_t id);

}  // namespace ltxvfs::ltx
