#include "ltx/legacy_v1.h"

#include <algorithm>
#include <array>

#include "base/byte_order.h"
#include "ltx/checksum.h"
#include "ltx/crc64.h"
#include "ltx/sequential_reader.h"

namespace ltxvfs::ltx {
namespace {
constexpr std::uint64_t kV1PageHeaderSize = 4;
constexpr std::uint64_t kV1TerminatorSize = 4;
}  // namespace

bool is_legacy_v1(const Source& source, const Header& header) {
  if (!is_valid_page_size(header.page_size)) return false;
  const std::uint64_t size = source.size();
  const std::uint64_t fixed = kHeaderSize + kV1TerminatorSize + kTrailerSize;
  const std::uint64_t frame = kV1PageHeaderSize + header.page_size;
  if (size < fixed || (size - fixed) % frame != 0) return false;

  std::array<std::uint8_t, 4> word{};
  source.read_at(size - kTrailerSize - kV1TerminatorSize, word);
  if (base::load_be32(word.data()) != 0) return false;

  // Page numbers must ascend. Chunked reads: one per 256 KiB, not one per page.
  const std::uint64_t pages = (size - fixed) / frame;
  SequentialReader walk(source, kHeaderSize, {});
  std::uint32_t prev = 0;
  for (std::uint64_t i = 0; i < pages; ++i) {
    const std::uint32_t pgno = base::load_be32(walk.peek(kV1PageHeaderSize).data());
    if (pgno <= prev) return false;
    prev = pgno;
    walk.consume(frame);
  }

  SequentialReader reader(source, 0, {});
  Crc64 crc;
  for (std::uint64_t left = size - 8; left > 0;) {
    const auto chunk = reader.read(static_cast<std::size_t>(std::min<std::uint64_t>(left, 1 << 20)),
                                   "legacy v1 body");
    crc.update(chunk);
    left -= chunk.size();
  }
  return base::load_be64(reader.read(8, "legacy v1 file checksum").data()) ==
         (kChecksumFlag | crc.value());
}

}  // namespace ltxvfs::ltx
