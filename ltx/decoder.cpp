#include "ltx/decoder.h"

#include <algorithm>
#include <cassert>

#include "base/byte_order.h"
#include "ltx/error.h"
#include "ltx/legacy_v1.h"
#include "ltx/lock_page.h"
#include "ltx/page_cipher.h"
#include "ltx/page_frame.h"
#include "ltx/varint.h"

namespace ltxvfs::ltx {
namespace {

std::string at(std::uint64_t offset) {
  return "at offset " + std::to_string(offset) + ": ";
}

std::string describe(const PageIndexEntry& e) {
  return "page " + std::to_string(e.pgno) + " at offset " + std::to_string(e.offset) + " size " +
         std::to_string(e.size);
}

}  // namespace

Decoder::Decoder(const Source& source, std::string name)
    : Decoder(source, std::move(name), nullptr, SequentialReader::kDefaultChunk) {}

Decoder::Decoder(const Source& source, std::string name, PageDecompressor& decompressor,
                 std::size_t read_chunk)
    : Decoder(source, std::move(name), &decompressor, read_chunk) {}

Decoder::Decoder(const Source& source, std::string name, PageDecompressor* lent,
                 std::size_t read_chunk)
    : reader_(source, 0, name, read_chunk),
      name_(std::move(name)),
      own_decompressor_(lent == nullptr ? std::make_unique<PageDecompressor>() : nullptr),
      decompressor_(lent != nullptr ? lent : own_decompressor_.get()) {
  const auto head = reader_.peek(kHeaderSize);
  header_ = Header::decode(head, name_);
  if (is_legacy_v1(source, header_)) {
    throw LtxError(LtxErrorKind::kLegacyV1, name_,
                   "legacy LTX v1 layout (written by LiteFS / Litestream before v0.5: 4-byte page "
                   "headers, no page index); this reader supports the current layout only");
  }
  header_.validate(name_);
  if (header_.is_encrypted()) {
    const KeyPtr key = find_key(header_.key_id);
    if (!key) throw_missing_key(name_, header_.key_id);
    file_crc_.use_mac(*key, head);
  } else {
    file_crc_.update(head);
  }
  reader_.consume(kHeaderSize);
  lock_pgno_ = lock_page(header_.page_size);
  page_.resize(header_.page_size);
  page_shift_ = Crc64Shift(header_.page_size);
}

void Decoder::check_page_number(std::uint32_t pgno, std::uint64_t offset) const {
  // Messages are built only on failure: this runs once per page.
  auto fail = [&](LtxErrorKind kind, const std::string& what) {
    throw LtxError(kind, name_, at(offset) + "page " + std::to_string(pgno) + " " + what);
  };
  const std::uint32_t prev = frames_.empty() ? 0 : frames_.back().pgno;
  if (pgno <= prev) {
    fail(LtxErrorKind::kBadPageOrder,
         "follows page " + std::to_string(prev) + " (pages must be strictly ascending)");
  }
  if (pgno > header_.commit) {
    fail(LtxErrorKind::kPageBeyondCommit,
         "is beyond the commit of " + std::to_string(header_.commit) + " pages");
  }
  if (pgno == lock_pgno_) {
    fail(LtxErrorKind::kLockPage, "is the lock page for " + std::to_string(header_.page_size) +
                                      "-byte pages, which is never stored");
  }
  if (header_.is_snapshot()) {
    const std::uint32_t expected = prev == 0 ? 1 : next_stored_page(prev, header_.page_size);
    if (pgno != expected) {
      fail(LtxErrorKind::kIncompleteSnapshot, "comes where page " + std::to_string(expected) +
                                                  " should (a snapshot holds every page 1.." +
                                                  std::to_string(header_.commit) +
                                                  " but the lock page)");
    }
  }
}

std::optional<Decoder::FrameStart> Decoder::read_frame_header(bool hash_now) {
  const std::uint64_t offset = reader_.position();
  const auto hdr_bytes = reader_.read(kPageHeaderSize, "a page header");
  FrameStart start;
  std::copy(hdr_bytes.begin(), hdr_bytes.end(), start.bytes.begin());
  start.offset = offset;
  if (hash_now) file_crc_.update(hdr_bytes);
  const PageHeader hdr = PageHeader::decode(hdr_bytes.first<kPageHeaderSize>());
  if (hdr.is_end_marker()) {
    end_marker_ = start.bytes;
    return std::nullopt;
  }
  if (hdr.pgno == 0) {
    throw LtxError(LtxErrorKind::kBadPageHeader, name_,
                   at(offset) + "page header has page number 0 with flags " +
                       std::to_string(hdr.flags) + " (neither a page nor the end marker)");
  }
  const auto encoding = page_encoding_from_flags(hdr.flags);
  if (!encoding) {
    throw LtxError(LtxErrorKind::kUnsupportedEncoding, name_,
                   at(offset) + "page " + std::to_string(hdr.pgno) + " has unknown page flags " +
                       std::to_string(hdr.flags) + " (known: 0 LZ4 frame, 1 LZ4 block, " +
                       std::to_string(static_cast<unsigned>(PageEncoding::kZstd)) + " zstd)");
  }
  const bool encrypted = *encoding == PageEncoding::kZstdAesGcm;
  if (encrypted != header_.is_encrypted()) {
    throw LtxError(LtxErrorKind::kUnsupportedEncoding, name_,
                   at(offset) + "page " + std::to_string(hdr.pgno) + " is " +
                       std::string(to_string(*encoding)) + " in a file whose header says it is " +
                       (header_.is_encrypted() ? "" : "not ") +
                       "encrypted (every page of an encrypted file is encrypted)");
  }
  if (is_native_extension(*encoding) && !header_.has_native_extensions()) {
    throw LtxError(LtxErrorKind::kUnsupportedEncoding, name_,
                   at(offset) + "page " + std::to_string(hdr.pgno) + " is " +
                       std::string(to_string(*encoding)) +
                       "-encoded but the header does not declare native extensions");
  }
  check_page_number(hdr.pgno, offset);
  start.pgno = hdr.pgno;
  start.encoding = *encoding;
  return start;
}

void Decoder::record_frame(const FrameStart& start, std::size_t used) {
  // Frames are read back to back from byte 100: index() and finish() derive offsets from sizes.
  assert(start.offset == frames_end_);
  frames_.push_back(Frame{start.pgno, static_cast<std::uint32_t>(kPageHeaderSize + used)});
  frames_end_ += kPageHeaderSize + used;
}

std::optional<DecodedPage> Decoder::next() {
  if (done_) return std::nullopt;
  const auto start = read_frame_header(/*hash_now=*/true);
  if (!start) {
    finish();
    return std::nullopt;
  }
  const std::uint32_t pgno = start->pgno;
  const PageEncoding encoding = start->encoding;
  const auto window = reader_.peek(max_payload_size(header_.page_size));
  const bool ends_file = window.size() == reader_.remaining();
  std::size_t used = 0;
  std::span<const std::uint8_t> payload;
  PageEncoding payload_encoding = encoding;
  const bool snapshot_sums = header_.is_snapshot() && header_.has_checksums();
  std::uint64_t sum = 0;
  if (encoding == PageEncoding::kZstdAesGcm) {
    const FrameOrigin origin{header_.page_size, pgno, header_.min_txid, header_.max_txid,
                             header_.database_id};
    used = decompressor_->open_encrypted(window, origin, header_.key_id, ends_file, name_, plain_);
    decompressor_->decompress(PageEncoding::kZstd, plain_, page_, true, name_, pgno, frame_check_);
    file_crc_.update(PageCipher::tag_of(window.first(used)));
    payload = plain_;
    payload_encoding = PageEncoding::kZstd;
    if (snapshot_sums) sum = page_checksum(pgno, page_);
  } else {
    used = decompressor_->decompress(encoding, window, page_, ends_file, name_, pgno, frame_check_);
    if (has_size_prefix(encoding)) file_crc_.update(window.first(4));
    // One pass over the page for its checksum and the file's: ~0.3 us of the ~4.5 us a 4 KiB
    // page takes to decode.
    sum = file_crc_.update_page(pgno, page_, page_shift_);
    payload = window.first(used);
  }
  reader_.consume(used);
  if (snapshot_sums) pages_checksum_.toggle(sum);
  record_frame(*start, used);
  // consume() leaves the reader's buffer in place, so the payload stays valid until next().
  return DecodedPage{pgno, page_, payload_encoding, payload, sum};
}

std::optional<StoredFrame> Decoder::next_stored() {
  if (done_ || end_marker_) return std::nullopt;
  // A file MAC takes each page header and tag in order, which this walk sees: it hashes them
  // here. A CRC takes the pages too, which the caller hashes.
  const bool mac = header_.is_encrypted();
  const auto start = read_frame_header(/*hash_now=*/mac);
  if (!start) return std::nullopt;
  const auto window = reader_.peek(max_payload_size(header_.page_size));
  const bool ends_file = window.size() == reader_.remaining();
  if (mac) {
    // Opened here (~1 us a 4 KiB page, against ~5 us of zstd): the checks of its length are
    // the cipher's, and what the caller decompresses is the zstd payload inside.
    const FrameOrigin origin{header_.page_size, start->pgno, header_.min_txid, header_.max_txid,
                             header_.database_id};
    const std::size_t used =
        decompressor_->open_encrypted(window, origin, header_.key_id, ends_file, name_, plain_);
    file_crc_.update(PageCipher::tag_of(window.first(used)));
    reader_.consume(used);
    record_frame(*start, used);
    return StoredFrame{start->pgno, PageEncoding::kZstd, start->bytes, plain_};
  }
  // An LZ4 frame says where it ends only to its decoder: it is decoded here too (Litestream's
  // files up to v0.5.15; ltxvfs writes no file with them but in that format).
  const std::size_t used =
      has_size_prefix(start->encoding)
          ? stored_payload_size(start->encoding, window, header_.page_size, ends_file, name_,
                                start->pgno)
          : decompressor_->decompress(start->encoding, window, page_, ends_file, name_, start->pgno,
                                      frame_check_);
  reader_.consume(used);
  record_frame(*start, used);
  // consume() leaves the reader's buffer in place: the payload stays valid until the next call.
  return StoredFrame{start->pgno, start->encoding, start->bytes, window.first(used)};
}

void Decoder::finish_stored(std::uint64_t frames_crc, const Crc64Shift& frames_shift,
                            std::uint64_t sums_xor) {
  assert(end_marker_ && !done_);
  if (!file_crc_.is_mac()) {
    file_crc_.append(frames_crc, frames_shift);
    file_crc_.update(*end_marker_);
  }
  if (header_.is_snapshot() && header_.has_checksums()) pages_checksum_.toggle(sums_xor);
  finish();
}

// The stored file checksum against the one computed over the file: a CRC, or the file MAC of an
// encrypted file (file_digest.h), whose mismatch means tampering as much as corruption.
void Decoder::check_file_checksum() {
  const std::uint64_t computed = kChecksumFlag | file_crc_.value();
  if (computed != trailer_.file_checksum && file_crc_.is_mac()) {
    throw LtxError(LtxErrorKind::kAuthentication, name_,
                   "file MAC mismatch: stored " + hex64(trailer_.file_checksum) + ", computed " +
                       hex64(computed) +
                       " (frames were dropped, reordered or replaced, or the file is corrupted)");
  }
  if (computed != trailer_.file_checksum) {
    throw LtxError(LtxErrorKind::kChecksumMismatch, name_,
                   "file checksum mismatch: stored " + hex64(trailer_.file_checksum) +
                       ", computed " + hex64(computed) +
                       " (the file is corrupted; re-download it or restore from an earlier "
                       "snapshot)");
  }
}

const PageIndex& Decoder::index() const {
  if (index_.entries.size() != frames_.size()) {
    index_.entries.clear();
    index_.entries.reserve(frames_.size());
    std::uint64_t offset = kHeaderSize;
    for (const Frame& f : frames_) {
      index_.entries.push_back(PageIndexEntry{f.pgno, offset, f.size});
      offset += f.size;
    }
  }
  return index_;
}

void Decoder::finish() {
  const std::uint64_t end_marker = reader_.position() - kPageHeaderSize;
  const auto& frames = frames_;
  if (header_.is_snapshot() &&
      frames.size() != stored_page_count(header_.commit, header_.page_size)) {
    const std::uint32_t missing =
        frames.empty() ? 1 : next_stored_page(frames.back().pgno, header_.page_size);
    throw LtxError(LtxErrorKind::kIncompleteSnapshot, name_,
                   "snapshot of " + std::to_string(header_.commit) + " pages ends before page " +
                       std::to_string(missing));
  }

  // The index must list exactly the frames just read.
  std::size_t i = 0;
  std::uint64_t frame_offset = kHeaderSize;
  for (;;) {
    const std::uint64_t offset = reader_.position();
    const auto window = reader_.peek(3 * kMaxVarintLength);
    const IndexElement el = read_index_element(window, window.size() == reader_.remaining(), name_);
    file_crc_.update(window.first(el.length));
    reader_.consume(el.length);
    if (el.terminator) break;
    if (i >= frames.size()) {
      throw LtxError(LtxErrorKind::kIndexMismatch, name_,
                     at(offset) + "page index lists " + describe(el.entry) + " but the file has " +
                         std::to_string(frames.size()) + " frames");
    }
    const PageIndexEntry frame{frames[i].pgno, frame_offset, frames[i].size};
    if (el.entry != frame) {
      throw LtxError(LtxErrorKind::kIndexMismatch, name_,
                     at(offset) + "page index entry " + std::to_string(i) + " says " +
                         describe(el.entry) + " but the frame is " + describe(frame));
    }
    frame_offset += frames[i].size;
    ++i;
  }
  if (i != frames.size()) {
    throw LtxError(LtxErrorKind::kIndexMismatch, name_,
                   "page index lists " + std::to_string(i) + " pages but the file has " +
                       std::to_string(frames.size()) + " frames");
  }
  const std::uint64_t area = reader_.position() - end_marker - kPageHeaderSize;
  const auto length_bytes = reader_.read(kIndexLengthSize, "the page index length");
  file_crc_.update(length_bytes);
  const std::uint64_t length = base::load_be64(length_bytes.data());
  if (length != area) {
    throw LtxError(LtxErrorKind::kBadIndex, name_,
                   "page index length field says " + std::to_string(length) +
                       " bytes but the index is " + std::to_string(area));
  }

  const auto trailer_bytes = reader_.read(kTrailerSize, "the trailer");
  file_crc_.update(trailer_bytes.first(8));
  trailer_ = Trailer::decode(trailer_bytes.first<kTrailerSize>());
  if (reader_.remaining() != 0) {
    throw LtxError(LtxErrorKind::kTrailingData, name_,
                   std::to_string(reader_.remaining()) + " unexpected bytes after the trailer at " +
                       std::to_string(reader_.position()));
  }
  check_file_checksum();
  trailer_.validate(header_, name_);
  if (header_.has_checksums()) {
    std::optional<std::uint64_t> expected;
    if (header_.is_snapshot()) expected = pages_checksum_.value();
    if (header_.commit == 0) expected = DatabaseChecksum().value();
    if (expected && *expected != trailer_.post_apply_checksum) {
      throw LtxError(LtxErrorKind::kPostApplyMismatch, name_,
                     "post-apply checksum " + hex64(trailer_.post_apply_checksum) +
                         " is not the checksum of the database this file describes, " +
                         hex64(*expected));
    }
  }
  done_ = true;
}

void Decoder::verify() {
  while (next()) {
  }
}

FileSummary verify_file(const Source& source, std::string name) {
  return for_each_page(source, std::move(name), {});
}

FileSummary for_each_page(
    const Source& source, std::string name,
    const std::function<void(std::uint32_t, std::span<const std::uint8_t>)>& fn) {
  Decoder dec(source, std::move(name));
  while (auto page = dec.next()) {
    if (fn) fn(page->pgno, page->data);
  }
  return FileSummary{dec.header(), dec.trailer(), dec.index()};
}

}  // namespace ltxvfs::ltx
