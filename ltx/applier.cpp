#include "ltx/applier.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ltx/decoder.h"
#include "ltx/encryption_key.h"
#include "ltx/error.h"
#include "ltx/lock_page.h"

namespace ltxvfs::ltx {
namespace {

[[noreturn]] void io_error(std::string_view name, const std::string& what) {
  throw LtxError(LtxErrorKind::kIo, name, what + ": " + std::strerror(errno));
}

}  // namespace

void FdPageWriter::write_page(std::uint32_t pgno, std::span<const std::uint8_t> page) {
  write_pages(pgno, page, static_cast<std::uint32_t>(page.size()));
}

void FdPageWriter::write_pages(std::uint32_t first_pgno, std::span<const std::uint8_t> pages,
                               std::uint32_t page_size) {
  auto offset = static_cast<off_t>(first_pgno - 1) * static_cast<off_t>(page_size);
  while (!pages.empty()) {
    const ssize_t n = ::pwrite(fd_, pages.data(), pages.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error(name_, "writing page " + std::to_string(first_pgno));
    }
    pages = pages.subspan(static_cast<std::size_t>(n));
    offset += n;
  }
}

void FdPageWriter::truncate(std::uint32_t commit, std::uint32_t page_size) {
  if (::ftruncate(fd_, static_cast<off_t>(commit) * static_cast<off_t>(page_size)) != 0) {
    io_error(name_, "truncating to " + std::to_string(commit) + " pages");
  }
}

void ChainApplier::check_continuity(const Header& h, const std::string& name) const {
  if (state_.txid == 0) {
    if (!h.is_snapshot()) {
      throw LtxError(LtxErrorKind::kTxidGap, name,
                     "a chain starts with a snapshot (min TXID 1), this file starts at TXID " +
                         std::to_string(h.min_txid));
    }
    return;
  }
  if (h.min_txid != state_.txid + 1) {
    throw LtxError(LtxErrorKind::kTxidGap, name,
                   "starts at TXID " + std::to_string(h.min_txid) +
                       " but the database is at TXID " + std::to_string(state_.txid) +
                       " (expected " + std::to_string(state_.txid + 1) + ")");
  }
  if (h.page_size != state_.page_size) {
    throw LtxError(LtxErrorKind::kBadPageSize, name,
                   "page size " + std::to_string(h.page_size) + " differs from the database's " +
                       std::to_string(state_.page_size));
  }
  if (h.is_encrypted() && state_.database_id != 0 && h.database_id != state_.database_id) {
    throw LtxError(LtxErrorKind::kAuthentication, name,
                   "belongs to database " + database_id_hex(h.database_id) +
                       ", the encrypted files before it to " + database_id_hex(state_.database_id) +
                       ": a file of another database sealed with the same key was put among "
                       "this one's; restore to a TXID before it, or delete it");
  }
  if (h.has_checksums() && h.pre_apply_checksum != checksum_.value()) {
    throw LtxError(LtxErrorKind::kPreApplyMismatch, name,
                   "pre-apply checksum " + hex64(h.pre_apply_checksum) +
                       " does not match the database at TXID " + std::to_string(state_.txid) +
                       ", " + hex64(checksum_.value()) +
                       " (the file belongs to a different history)");
  }
}

void ChainApplier::growth_error(const Header& h, const std::string& name, std::uint32_t old_commit,
                                std::uint64_t missing) const {
  throw LtxError(LtxErrorKind::kIncompleteGrowth, name,
                 "grows the database from " + std::to_string(old_commit) + " to " +
                     std::to_string(h.commit) + " pages but does not carry page " +
                     std::to_string(missing));
}

void ChainApplier::add_page(std::uint32_t pgno, std::uint64_t sum, const Header& h,
                            const std::string& name, std::uint32_t old_commit) {
  // page_sums_ grows one page at a time with the pages actually present, never by what a header
  // or page number claims: a corrupt field must not become a huge allocation before the file
  // checksum (at the end) is known. A growing file carries its new pages in ascending order, so a
  // page past the end must be the very next one.
  if (pgno > page_sums_.size()) {
    std::uint64_t next = page_sums_.size() + 1;
    if (next == lock_page(h.page_size)) ++next;
    if (pgno != next) growth_error(h, name, old_commit, next);
    page_sums_.resize(pgno, 0);
  }
  std::uint64_t& slot = page_sums_[pgno - 1];
  if (slot != 0) checksum_.toggle(slot);
  slot = sum;
  checksum_.toggle(slot);
}

void ChainApplier::finish_file(const Header& h, const Trailer& t, const std::string& name,
                               std::uint32_t old_commit) {
  // The file is verified. Shrinking drops pages; growing must have brought every new page.
  for (std::size_t i = h.commit; i < page_sums_.size(); ++i) {
    if (page_sums_[i] != 0) checksum_.toggle(page_sums_[i]);
  }
  if (page_sums_.size() > h.commit) page_sums_.resize(h.commit);
  const std::uint32_t lock = lock_page(h.page_size);
  for (std::uint64_t pgno = std::uint64_t{old_commit} + 1; pgno <= h.commit; ++pgno) {
    if (pgno != lock && (pgno > page_sums_.size() || page_sums_[pgno - 1] == 0)) {
      growth_error(h, name, old_commit, pgno);
    }
  }
  page_sums_.resize(h.commit, 0);  // only the lock page can still be missing at the end
  writer_.truncate(h.commit, h.page_size);

  if (h.has_checksums() && t.post_apply_checksum != checksum_.value()) {
    throw LtxError(LtxErrorKind::kPostApplyMismatch, name,
                   "post-apply checksum " + hex64(t.post_apply_checksum) +
                       " does not match the database after applying it, " +
                       hex64(checksum_.value()));
  }
  state_ = DatabaseState{h.max_txid, h.commit, h.page_size, checksum_.value(),
                         h.is_encrypted() ? h.database_id : state_.database_id};
}

void ChainApplier::apply(const Source& source, std::string name) {
  Decoder dec(source, std::move(name));
  check_continuity(dec.header(), dec.name());
  const std::uint32_t old_commit = state_.commit;
  while (auto page = dec.next()) {
    const std::uint64_t sum =
        page->checksum != 0 ? page->checksum : page_checksum(page->pgno, page->data);
    add_page(page->pgno, sum, dec.header(), dec.name(), old_commit);
    writer_.write_page(page->pgno, page->data);
  }
  finish_file(dec.header(), dec.trailer(), dec.name(), old_commit);
}

void ChainApplier::apply(const DecodedFile& file, const std::string& name) {
  check_continuity(file.header, name);
  const std::uint32_t old_commit = state_.commit;
  for (std::size_t i = 0; i < file.pgnos.size(); ++i) {
    add_page(file.pgnos[i], file.sums[i], file.header, name, old_commit);
  }
  finish_file(file.header, file.trailer, name, old_commit);
}

DatabaseState restore_to_fd(std::span<const NamedSource> chain, int fd, std::string name) {
  if (::ftruncate(fd, 0) != 0) io_error(name, "truncating before restore");
  FdPageWriter writer(fd, std::move(name));
  ChainApplier applier(writer);
  for (const auto& file : chain) applier.apply(*file.source, file.name);
  return applier.state();
}

}  // namespace ltxvfs::ltx
