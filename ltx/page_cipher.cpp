#include "ltx/page_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string>

#include "base/byte_order.h"
#include "ltx/error.h"
#include "ltx/page_codec.h"

namespace ltxvfs::ltx {
namespace {

constexpr std::size_t kSizePrefix = 4;
constexpr std::size_t kAadSize = 8 + 2 + 4 + 4 + 8 + 8 + 8;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

std::array<std::uint8_t, kAadSize> make_aad(std::uint64_t key_id, const FrameOrigin& o) {
  std::array<std::uint8_t, kAadSize> a{};
  base::store_be64(a.data(), key_id);
  base::store_be16(a.data() + 8, static_cast<std::uint16_t>(PageEncoding::kZstdAesGcm));
  base::store_be32(a.data() + 10, o.page_size);
  base::store_be32(a.data() + 14, o.pgno);
  base::store_be64(a.data() + 18, o.min_txid);
  base::store_be64(a.data() + 26, o.max_txid);
  base::store_be64(a.data() + 34, o.database_id);
  return a;
}

[[noreturn]] void fail(LtxErrorKind kind, std::string_view file, std::uint32_t pgno,
                       const std::string& what) {
  throw LtxError(kind, file, "page " + std::to_string(pgno) + ": encrypted payload " + what);
}

// The AES key of the frames of one TXID range: HMAC-SHA256(page key, label | min | max). Random
// nonces then only have to differ among the frames sealed for one range (a file, and the few
// files of other levels or restarts that cover exactly the same range), not among every frame
// ever sealed under the user's key (docs/SECURITY.md, "Nonces").
std::array<std::uint8_t, 32> range_key(const EncryptionKey& key, const FrameOrigin& o) {
  std::uint8_t msg[15 + 16] = "ltxvfs file key";
  base::store_be64(msg + 15, o.min_txid);
  base::store_be64(msg + 23, o.max_txid);
  std::array<std::uint8_t, 32> out{};
  EVP_MAC_CTX* prf = key.new_page_prf();
  std::size_t len = 0;
  const bool ok = EVP_MAC_update(prf, msg, sizeof msg) == 1 &&
                  EVP_MAC_final(prf, out.data(), &len, out.size()) == 1;
  EVP_MAC_CTX_free(prf);
  if (!ok) throw std::bad_alloc();
  return out;
}

}  // namespace

struct PageCipher::Ctx {
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> evp{EVP_CIPHER_CTX_new()};
  // The key schedule is set up once per key, TXID range and direction (a whole file's frames
  // share them), then each page sets only its nonce.
  const EncryptionKey* key = nullptr;
  std::uint64_t min_txid = 0;
  std::uint64_t max_txid = 0;
  bool encrypting = false;

  void init(const EncryptionKey& k, const FrameOrigin& o, bool enc, const std::uint8_t* nonce) {
    const bool same =
        key == &k && min_txid == o.min_txid && max_txid == o.max_txid && encrypting == enc;
    std::array<std::uint8_t, 32> file_key{};
    if (!same) file_key = range_key(k, o);
    const unsigned char* key_bytes = same ? nullptr : file_key.data();
    const EVP_CIPHER* cipher = same ? nullptr : aes_256_gcm();
    const int ok = enc ? EVP_EncryptInit_ex(evp.get(), cipher, nullptr, key_bytes, nonce)
                       : EVP_DecryptInit_ex(evp.get(), cipher, nullptr, key_bytes, nonce);
    OPENSSL_cleanse(file_key.data(), file_key.size());
    if (ok != 1) throw std::bad_alloc();
    key = &k;
    min_txid = o.min_txid;
    max_txid = o.max_txid;
    encrypting = enc;
  }
};

PageCipher::PageCipher() : ctx_(std::make_unique<Ctx>()) {
  if (!ctx_->evp) throw std::bad_alloc();
}
PageCipher::~PageCipher() = default;

void PageCipher::seal(const EncryptionKey& key, const FrameOrigin& origin,
                      std::span<const std::uint8_t> zstd_payload, std::vector<std::uint8_t>& out) {
  const auto frame = zstd_payload.subspan(kSizePrefix);
  const std::size_t start = out.size();
  out.resize(start + kSizePrefix + kEncryptionOverhead + frame.size());
  std::uint8_t* p = out.data() + start;
  base::store_be32(p, static_cast<std::uint32_t>(kEncryptionOverhead + frame.size()));
  base::store_be64(p + 4, key.id());
  std::uint8_t* nonce = p + 12;
  // Random 96-bit nonces: no state to lose or share between writers; the bound this puts on
  // pages per key is in docs/SECURITY.md.
  if (RAND_bytes(nonce, kNonceSize) != 1) {
    throw LtxError(LtxErrorKind::kIo, "encryption", "the system's random generator failed");
  }
  ctx_->init(key, origin, true, nonce);
  const auto aad = make_aad(key.id(), origin);
  int len = 0;
  EVP_CIPHER_CTX* c = ctx_->evp.get();
  std::uint8_t* ct = nonce + kNonceSize;
  bool ok = EVP_EncryptUpdate(c, nullptr, &len, aad.data(), aad.size()) == 1 &&
            EVP_EncryptUpdate(c, ct, &len, frame.data(), static_cast<int>(frame.size())) == 1 &&
            EVP_EncryptFinal_ex(c, ct + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, kTagSize, ct + frame.size()) == 1;
  if (!ok) throw LtxError(LtxErrorKind::kInvalidArgument, "encryption", "AES-GCM failed");
}

std::size_t PageCipher::open(std::span<const std::uint8_t> input, const FrameOrigin& origin,
                             std::uint64_t header_key_id, bool input_ends_file,
                             std::string_view file_name, std::vector<std::uint8_t>& plain) {
  const std::uint32_t pgno = origin.pgno;
  if (input.size() < kSizePrefix) {
    if (input_ends_file) fail(LtxErrorKind::kTruncated, file_name, pgno, "cut inside its size");
    fail(LtxErrorKind::kDecompress, file_name, pgno, "has no room for its size prefix");
  }
  const std::size_t n = base::load_be32(input.data());
  const std::size_t limit = max_payload_size(origin.page_size) - kSizePrefix;
  if (n <= kEncryptionOverhead + 4 || n > limit) {
    fail(LtxErrorKind::kDecompress, file_name, pgno,
         "size prefix says " + std::to_string(n) + " bytes; expected " +
             std::to_string(kEncryptionOverhead + 5) + ".." + std::to_string(limit));
  }
  if (input.size() - kSizePrefix < n) {
    fail(input_ends_file ? LtxErrorKind::kTruncated : LtxErrorKind::kDecompress, file_name, pgno,
         "runs past the bytes available (" + std::to_string(n) + " declared, " +
             std::to_string(input.size() - kSizePrefix) + " present)");
  }
  const std::uint8_t* p = input.data() + kSizePrefix;
  const std::uint64_t key_id = base::load_be64(p);
  if (header_key_id != 0 && key_id != header_key_id) {
    fail(LtxErrorKind::kAuthentication, file_name, pgno,
         "names key id " + key_id_hex(key_id) + " but the file's header names " +
             key_id_hex(header_key_id));
  }
  const KeyPtr key = find_key(key_id);
  if (!key) throw_missing_key(file_name, key_id);
  const std::uint8_t* nonce = p + 8;
  const std::uint8_t* ct = nonce + kNonceSize;
  const std::size_t ct_size = n - kEncryptionOverhead;
  plain.resize(kSizePrefix + ct_size);
  base::store_be32(plain.data(), static_cast<std::uint32_t>(ct_size));

  ctx_->init(*key, origin, false, nonce);
  const auto aad = make_aad(key_id, origin);
  EVP_CIPHER_CTX* c = ctx_->evp.get();
  int len = 0;
  const bool ok =
      EVP_DecryptUpdate(c, nullptr, &len, aad.data(), aad.size()) == 1 &&
      EVP_DecryptUpdate(c, plain.data() + kSizePrefix, &len, ct, static_cast<int>(ct_size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, kTagSize,
                          const_cast<std::uint8_t*>(ct + ct_size)) == 1 &&
      EVP_DecryptFinal_ex(c, plain.data() + kSizePrefix + len, &len) == 1;
  if (!ok) {
    plain.clear();  // never hand out unauthenticated plaintext
    fail(LtxErrorKind::kAuthentication, file_name, pgno,
         "fails its authentication tag: it was altered, or moved from another page, file or "
         "database (key id " +
             key_id_hex(key_id) + ")");
  }
  return kSizePrefix + n;
}

}  // namespace ltxvfs::ltx
