#include "ltx/applier.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ltx/decoder.h"
#include "ltx/error.h"
#include "ltx/lock_page.h"

namespace ltxvfs::ltx {
namespace {

[[noreturn]] void io_error(std::string_view name, const std::string& what) {
  throw LtxError(LtxErrorKind::kIo, name, what + ": " + std::strerror(errno));
}

}  // namespace

void FdPageWriter::write_page(std::uint32_t pgno, std::span<const std::uint8_t> page) {
  auto offset = static_cast<off_t>(pgno - 1) * static_cast<off_t>(page.size());
  while (!page.empty()) {
    const ssize_t n = ::pwrite(fd_, page.data(), page.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error(name_, "writing page " + std::to_string(pgno));
    }
    page = page.subspan(static_cast<std::size_t>(n));
    offset += n;
  }
}

void FdPageWriter::truncate(std::uint32_t commit, std::uint32_t page_size) {
  if (::ftruncate(fd_, static_cast<off_t>(commit) * static_cast<off_t>(page_size)) != 0) {
    io_error(name_, "truncating to " + std::to_string(commit) + " pages");
  }
}

void ChainApplier::check_continuity(const Decoder& dec) const {
  const Header& h = dec.header();
  if (state_.txid == 0) {
    if (!h.is_snapshot()) {
      throw LtxError(LtxErrorKind::kTxidGap, dec.name(),
                     "a chain starts with a snapshot (min TXID 1), this file starts at TXID " +
                         std::to_string(h.min_txid));
    }
    return;
  }
  if (h.min_txid != state_.txid + 1) {
    throw LtxError(LtxErrorKind::kTxidGap, dec.name(),
                   "starts at TXID " + std::to_string(h.min_txid) +
                       " but the database is at TXID " + std::to_string(state_.txid) +
                       " (expected " + std::to_string(state_.txid + 1) + ")");
  }
  if (h.page_size != state_.page_size) {
    throw LtxError(LtxErrorKind::kBadPageSize, dec.name(),
                   "page size " + std::to_string(h.page_size) + " differs from the database's " +
                       std::to_string(state_.page_size));
  }
  if (h.has_checksums() && h.pre_apply_checksum != checksum_.value()) {
    throw LtxError(LtxErrorKind::kPreApplyMismatch, dec.name(),
                   "pre-apply checksum " + hex64(h.pre_apply_checksum) +
                       " does not match the database at TXID " + std::to_string(state_.txid) +
                       ", " + hex64(checksum_.value()) +
                       " (the file belongs to a different history)");
  }
}

void ChainApplier::apply(const Source& source, std::string name) {
  Decoder dec(source, std::move(name));
  check_continuity(dec);
  const Header& h = dec.header();
  const std::uint32_t old_commit = state_.commit;

  const std::uint32_t lock = lock_page(h.page_size);
  auto growth_error = [&](std::uint64_t missing) {
    return LtxError(LtxErrorKind::kIncompleteGrowth, dec.name(),
                    "grows the database from " + std::to_string(old_commit) + " to " +
                        std::to_string(h.commit) + " pages but does not carry page " +
                        std::to_string(missing));
  };

  // page_sums_ grows one page at a time with the pages actually present, never by what a header
  // or page number claims: a corrupt field must not become a huge allocation before the file
  // checksum (at the end) is known. A growing file carries its new pages in ascending order, so a
  // page past the end must be the very next one.
  while (auto page = dec.next()) {
    if (page->pgno > page_sums_.size()) {
      std::uint64_t next = page_sums_.size() + 1;
      if (next == lock) ++next;
      if (page->pgno != next) throw growth_error(next);
      page_sums_.resize(page->pgno, 0);
    }
    std::uint64_t& slot = page_sums_[page->pgno - 1];
    if (slot != 0) checksum_.toggle(slot);
    slot = page_checksum(page->pgno, page->data);
    checksum_.toggle(slot);
    writer_.write_page(page->pgno, page->data);
  }

  // The file is verified. Shrinking drops pages; growing must have brought every new page.
  for (std::size_t i = h.commit; i < page_sums_.size(); ++i) {
    if (page_sums_[i] != 0) checksum_.toggle(page_sums_[i]);
  }
  if (page_sums_.size() > h.commit) page_sums_.resize(h.commit);
  for (std::uint64_t pgno = std::uint64_t{old_commit} + 1; pgno <= h.commit; ++pgno) {
    if (pgno != lock && (pgno > page_sums_.size() || page_sums_[pgno - 1] == 0)) {
      throw growth_error(pgno);
    }
  }
  page_sums_.resize(h.commit, 0);  // only the lock page can still be missing at the end
  writer_.truncate(h.commit, h.page_size);

  if (h.has_checksums() && dec.trailer().post_apply_checksum != checksum_.value()) {
    throw LtxError(LtxErrorKind::kPostApplyMismatch, dec.name(),
                   "post-apply checksum " + hex64(dec.trailer().post_apply_checksum) +
                       " does not match the database after applying it, " +
                       hex64(checksum_.value()));
  }
  state_ = DatabaseState{h.max_txid, h.commit, h.page_size, checksum_.value()};
}

DatabaseState restore_to_fd(std::span<const NamedSource> chain, int fd, std::string name) {
  if (::ftruncate(fd, 0) != 0) io_error(name, "truncating before restore");
  FdPageWriter writer(fd, std::move(name));
  ChainApplier applier(writer);
  for (const auto& file : chain) applier.apply(*file.source, file.name);
  return applier.state();
}

}  // namespace ltxvfs::ltx
