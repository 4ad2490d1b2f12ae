#include "ltx/file_digest.h"

#include <openssl/evp.h>

#include <cassert>
#include <new>

#include "base/byte_order.h"
#include "ltx/checksum.h"

namespace ltxvfs::ltx {

struct FileDigest::Mac {
  EVP_MAC_CTX* ctx = nullptr;
  ~Mac() { EVP_MAC_CTX_free(ctx); }
};

FileDigest::FileDigest() = default;
FileDigest::~FileDigest() = default;

void FileDigest::use_mac(const EncryptionKey& key, std::span<const std::uint8_t> hashed_so_far) {
  auto m = std::make_unique<Mac>();
  m->ctx = key.new_file_mac();
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

std::uint64_t FileDigest::update_page(std::uint32_t pgno, std::span<const std::uint8_t> page,
                                      const Crc64Shift& page_shift) {
  assert(!mac_);
  const std::uint64_t crc = page_crc(pgno, page);
  crc_.update_from(crc, page_number_crc(pgno), page_shift);
  return kChecksumFlag | crc;
}

void FileDigest::append(std::uint64_t crc, const Crc64Shift& shift) {
  assert(!mac_);
  crc_.append(crc, shift);
}

std::uint64_t FileDigest::value() {
  if (!mac_) return crc_.value();
  unsigned char out[64];
  std::size_t len = 0;
  EVP_MAC_final(mac_->ctx, out, &len, sizeof out);
  return base::load_be64(out) & ~(std::uint64_t{1} << 63);
}

}  // namespace ltxvfs::ltx
