#include "ltx/encoder.h"

#include <string>

#include "base/byte_order.h"
#include "ltx/error.h"
#include "ltx/page_frame.h"

namespace ltxvfs::ltx {
namespace {
constexpr std::size_t kIndexBlockSize = 64 * 1024;
}  // namespace

std::uint32_t EncodeOptions::header_flags() const {
  return (checksums ? 0u : kHeaderFlagNoChecksum) |
         (is_native_extension(stored_encoding()) ? kHeaderFlagNativeExtensions : 0u) |
         (key ? kHeaderFlagEncrypted : 0u);
}

Encoder::Encoder(Sink& sink, const Header& header, const EncodeOptions& options, std::string name)
    : Encoder(sink, header, options,
              std::make_unique<PageCompressor>(options.encoding, options.zstd_level), nullptr,
              std::move(name)) {}

Encoder::Encoder(Sink& sink, const Header& header, const EncodeOptions& options,
                 PageCompressor& compressor, std::string name)
    : Encoder(sink, header, options, nullptr, &compressor, std::move(name)) {}

Encoder::Encoder(Sink& sink, const Header& header, const EncodeOptions& options,
                 std::unique_ptr<PageCompressor> own, PageCompressor* lent, std::string name)
    : sink_(sink),
      header_(header),
      options_(options),
      name_(std::move(name)),
      lock_pgno_(0),
      own_compressor_(std::move(own)),
      compressor_(lent != nullptr ? lent : own_compressor_.get()) {
  if (compressor_->encoding() != options.encoding) {
    throw LtxError(LtxErrorKind::kInvalidArgument, name_,
                   "the compressor lent to the encoder does not match its encoding");
  }
  if (options_.key && options_.encoding != PageEncoding::kZstd) {
    throw LtxError(LtxErrorKind::kInvalidArgument, name_,
                   "encryption needs zstd pages (format=native), not " +
                       std::string(to_string(options_.encoding)));
  }
  if (options_.key && options_.database_id == 0) {
    throw LtxError(LtxErrorKind::kInvalidArgument, name_,
                   "an encrypted file needs the id of its database (EncodeOptions::database_id)");
  }
  header_.flags = options_.header_flags();
  header_.key_id = options_.key ? options_.key->id() : 0;
  header_.database_id = options_.key ? options_.database_id : 0;
  if (!options_.checksums) header_.pre_apply_checksum = 0;
  header_.validate(name_);
  lock_pgno_ = lock_page(header_.page_size);
  const auto bytes = header_.encode();
  if (options_.key) {
    cipher_ = std::make_unique<PageCipher>();
    file_crc_.use_mac(*options_.key, bytes);
    emit(bytes, false);
  } else {
    emit(bytes, true);
  }
}

// Appends `zstd_payload` to frame_ sealed under the file's key, bound to `pgno` and this file.
void Encoder::seal(std::uint32_t pgno, std::span<const std::uint8_t> zstd_payload) {
  const FrameOrigin origin{header_.page_size, pgno, header_.min_txid, header_.max_txid,
                           header_.database_id};
  cipher_->seal(*options_.key, origin, zstd_payload, frame_);
}

void Encoder::emit(std::span<const std::uint8_t> bytes, bool hash) {
  sink_.write(bytes);
  if (hash) file_crc_.update(bytes);
  offset_ += bytes.size();
}

void Encoder::check_page(std::uint32_t pgno, std::span<const std::uint8_t> page) {
  // Messages are built only on failure: this runs once per page on the commit path.
  auto fail = [&](LtxErrorKind kind, const std::string& what) {
    throw LtxError(kind, name_, "page " + std::to_string(pgno) + ": " + what);
  };
  if (finished_) fail(LtxErrorKind::kInvalidArgument, "after finish()");
  if (page.size() != header_.page_size) {
    fail(LtxErrorKind::kBadPageSize, "got " + std::to_string(page.size()) +
                                         " bytes, page size is " +
                                         std::to_string(header_.page_size));
  }
  const std::uint32_t prev = last_pgno_;
  if (pgno <= prev) {
    fail(LtxErrorKind::kBadPageOrder, "added after page " + std::to_string(prev) +
                                          " (pages must be strictly ascending and non-zero)");
  }
  if (pgno > header_.commit) {
    fail(LtxErrorKind::kPageBeyondCommit,
         "beyond the commit of " + std::to_string(header_.commit) + " pages");
  }
  if (pgno == lock_pgno_) {
    fail(LtxErrorKind::kLockPage, "is the lock page for " + std::to_string(header_.page_size) +
                                      "-byte pages and is never stored");
  }
  if (header_.is_snapshot() && first_missing_ == 0) {
    const std::uint32_t expected = prev == 0 ? 1 : next_stored_page(prev, header_.page_size);
    if (pgno != expected) first_missing_ = expected;
  }
}

void Encoder::add_page(std::uint32_t pgno, std::span<const std::uint8_t> page) {
  check_page(pgno, page);
  frame_.clear();
  const auto hdr =
      PageHeader{pgno, static_cast<std::uint16_t>(options_.stored_encoding())}.encode();
  frame_.insert(frame_.end(), hdr.begin(), hdr.end());
  if (cipher_) {
    plain_.clear();
    compressor_->compress(page, plain_);
    seal(pgno, plain_);
  } else {
    compressor_->compress(page, frame_);
  }
  write_frame(pgno, page);
}

void Encoder::add_encoded_page(std::uint32_t pgno, std::span<const std::uint8_t> page,
                               PageEncoding encoding, std::span<const std::uint8_t> payload) {
  if (encoding != options_.encoding) {
    throw LtxError(LtxErrorKind::kInvalidArgument, name_,
                   "page " + std::to_string(pgno) + ": a " + std::string(to_string(encoding)) +
                       " payload cannot be copied into a file of " +
                       std::string(to_string(options_.encoding)) + " pages");
  }
  if (payload.size() <= (has_size_prefix(encoding) ? 4u : 0u)) {
    throw LtxError(LtxErrorKind::kInvalidArgument, name_,
                   "page " + std::to_string(pgno) + ": a " + std::to_string(payload.size()) +
                       "-byte payload cannot hold a page");
  }
  check_page(pgno, page);
  frame_.clear();
  const auto hdr =
      PageHeader{pgno, static_cast<std::uint16_t>(options_.stored_encoding())}.encode();
  frame_.insert(frame_.end(), hdr.begin(), hdr.end());
  if (cipher_) {
    // Copied frames are sealed again, for this file: compression (the costly part) is kept,
    // and the frame's tag binds this file's TXID range and the current key (docs/SECURITY.md).
    seal(pgno, payload);
  } else {
    frame_.insert(frame_.end(), payload.begin(), payload.end());
  }
  write_frame(pgno, page);
}

// frame_ holds the page header and payload of `pgno`, whose decompressed bytes are `page`.
void Encoder::write_frame(std::uint32_t pgno, std::span<const std::uint8_t> page) {
  // The file checksum covers the page header, the size prefix if any, and the page *decompressed*,
  // so that it does not depend on the compressor.
  if (cipher_) {
    // The MAC covers the page header and the GCM tag, which authenticates the rest.
    file_crc_.update(std::span(frame_).first(kPageHeaderSize));
    file_crc_.update(PageCipher::tag_of(frame_));
  } else {
    const std::size_t hashed_prefix =
        kPageHeaderSize + (has_size_prefix(options_.encoding) ? 4 : 0);
    file_crc_.update(std::span(frame_).first(hashed_prefix));
    file_crc_.update(page);
  }
  if (header_.is_snapshot()) pages_checksum_.toggle(pgno, page);

  // An entry takes at most 30 bytes (three uvarints).
  if (index_blocks_.empty() || index_blocks_.back().capacity() - index_blocks_.back().size() < 30) {
    index_blocks_.emplace_back().reserve(kIndexBlockSize);
  }
  append_page_index_entry(index_blocks_.back(), PageIndexEntry{pgno, offset_, frame_.size()});
  ++pages_written_;
  last_pgno_ = pgno;
  emit(frame_, false);
}

Trailer Encoder::finish(std::uint64_t post_apply_checksum) {
  if (finished_) throw LtxError(LtxErrorKind::kInvalidArgument, name_, "finish() called twice");
  if (header_.is_snapshot() &&
      pages_written_ != stored_page_count(header_.commit, header_.page_size)) {
    const std::uint32_t missing =
        first_missing_ != 0
            ? first_missing_
            : (last_pgno_ == 0 ? 1 : next_stored_page(last_pgno_, header_.page_size));
    throw LtxError(LtxErrorKind::kIncompleteSnapshot, name_,
                   "snapshot of " + std::to_string(header_.commit) + " pages lacks page " +
                       std::to_string(missing) + " (it holds " + std::to_string(pages_written_) +
                       " pages)");
  }
  Trailer trailer;
  if (options_.checksums) {
    if ((post_apply_checksum & kChecksumFlag) == 0) {
      throw LtxError(LtxErrorKind::kInvalidArgument, name_,
                     "post-apply checksum " + hex64(post_apply_checksum) +
                         " lacks bit 63 (checksums are on, so it is required)");
    }
    std::uint64_t expected = post_apply_checksum;
    if (header_.is_snapshot()) expected = pages_checksum_.value();
    if (header_.commit == 0) expected = DatabaseChecksum().value();
    if (post_apply_checksum != expected) {
      throw LtxError(LtxErrorKind::kPostApplyMismatch, name_,
                     "post-apply checksum " + hex64(post_apply_checksum) +
                         " is not the checksum of the resulting database, " + hex64(expected));
    }
    trailer.post_apply_checksum = post_apply_checksum;
  }
  finished_ = true;

  // End marker, index and post-apply checksum are all covered by the file checksum.
  // Written in place after the encoded index, so the index is never copied.
  const auto end_marker = PageHeader{}.encode();
  emit(end_marker, true);
  if (index_blocks_.empty()) index_blocks_.emplace_back();
  std::uint64_t bytes_before = 0;
  for (std::size_t i = 0; i + 1 < index_blocks_.size(); ++i)
    bytes_before += index_blocks_[i].size();
  auto& last = index_blocks_.back();
  finish_page_index(last, bytes_before);
  last.resize(last.size() + 8);
  base::store_be64(last.data() + last.size() - 8, trailer.post_apply_checksum);
  for (const auto& block : index_blocks_) emit(block, true);
  trailer.file_checksum = kChecksumFlag | file_crc_.value();
  std::uint8_t file_checksum[8];
  base::store_be64(file_checksum, trailer.file_checksum);
  emit(file_checksum, false);
  return trailer;
}

}  // namespace ltxvfs::ltx
