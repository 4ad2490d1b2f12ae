// AES-256-GCM over page payloads: the encrypted page encoding 0x0200 ("zstd, then AES-256-GCM";
// docs/FORMAT.md). The stored payload is
//
//   u32 BE n | key id u64 BE | nonce (12 random bytes) | ciphertext of the zstd frame | tag (16)
//
// with n counting everything after the prefix (the zstd frame's length + 36). The AES key is
// derived per TXID range from the key's page key (docs/FORMAT.md), so random nonces need only be
// unique among the frames sealed for one range. The authenticated
// data binds the key id, the page flags, the page size, the page number, the TXID range of the
// file holding the frame and the id of its database, so a frame copied to another page number,
// another file, a database of another page size or another database fails its tag. The frame
// carries its key id so that a random-access reader (one frame and the page index, no header) knows
// which key to use.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "ltx/encryption_key.h"

namespace ltxvfs::ltx {

inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::size_t kTagSize = 16;
// Key id + nonce + tag: what encryption adds to a zstd payload.
inline constexpr std::size_t kEncryptionOverhead = 8 + kNonceSize + kTagSize;

// Where a frame lives: what its authenticated data binds besides its key.
struct FrameOrigin {
  std::uint32_t page_size = 0;
  std::uint32_t pgno = 0;
  std::uint64_t min_txid = 0;  // of the file holding the frame
  std::uint64_t max_txid = 0;
  // The database's id (ltx::Header::database_id): of the file's header for a whole-file reader,
  // of the history being read for a random-access one, which never sees the header.
  std::uint64_t database_id = 0;
};

// Reuses one cipher context across pages; not thread-safe.
class PageCipher {
 public:
  PageCipher();
  ~PageCipher();
  PageCipher(const PageCipher&) = delete;
  PageCipher& operator=(const PageCipher&) = delete;

  // Appends the encrypted payload of `zstd_payload` (a zstd payload, u32 size prefix included)
  // to `out`, under a fresh random nonce.
  void seal(const EncryptionKey& key, const FrameOrigin& origin,
            std::span<const std::uint8_t> zstd_payload, std::vector<std::uint8_t>& out);

  // Opens the encrypted payload at the start of `input` (which may extend past it) into `plain`
  // as a zstd payload (size prefix included), and returns the bytes the encrypted payload takes.
  // The key is the registered one (find_key) named by the frame; `header_key_id`, when not 0,
  // must be that id. Throws kTruncated / kDecompress (bad sizes, as PageDecompressor does),
  // kEncryptionKey (key not loaded) and kAuthentication (the tag does not verify).
  std::size_t open(std::span<const std::uint8_t> input, const FrameOrigin& origin,
                   std::uint64_t header_key_id, bool input_ends_file, std::string_view file_name,
                   std::vector<std::uint8_t>& plain);

  // The tag of a stored encrypted payload (its last 16 bytes): what the file MAC covers.
  static std::span<const std::uint8_t> tag_of(std::span<const std::uint8_t> payload) {
    return payload.last(kTagSize);
  }

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace ltxvfs::ltx
