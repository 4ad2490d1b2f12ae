// Applying a chain of LTX files (a snapshot, then incrementals with contiguous TXIDs) to a
// database. The applier keeps the database checksum current as it writes, so it can check each
// checksummed file's pre-apply checksum before touching the database and its post-apply checksum
// after.
//
// Pages reach the writer as they are decoded, before a file's checksum is verified at its end:
// if apply() throws, the database is in an unspecified state and must be discarded (restore into
// a temporary file and rename it into place on success).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ltx/checksum.h"
#include "ltx/decoded_file.h"
#include "ltx/source.h"

namespace ltxvfs::ltx {

// Where the applier writes pages.
class PageWriter {
 public:
  virtual ~PageWriter() = default;
  virtual void write_page(std::uint32_t pgno, std::span<const std::uint8_t> page) = 0;
  // Pages first_pgno, first_pgno + 1, ... back to back in `pages` (a multiple of page_size).
  virtual void write_pages(std::uint32_t first_pgno, std::span<const std::uint8_t> pages,
                           std::uint32_t page_size) {
    for (std::size_t i = 0; i * page_size < pages.size(); ++i) {
      write_page(first_pgno + static_cast<std::uint32_t>(i),
                 pages.subspan(i * page_size, page_size));
    }
  }
  // The database is now `commit` pages of `page_size` bytes: drop anything beyond.
  virtual void truncate(std::uint32_t commit, std::uint32_t page_size) = 0;
};

// Writes a database file through a POSIX fd (not owned) with pwrite/ftruncate. It never writes
// the lock page: a file extended past it reads back zeros there, as the format requires.
class FdPageWriter final : public PageWriter {
 public:
  explicit FdPageWriter(int fd, std::string name = {}) : fd_(fd), name_(std::move(name)) {}
  void write_page(std::uint32_t pgno, std::span<const std::uint8_t> page) override;
  // One pwrite for the run (a snapshot's pages are one run: ~30 k pwrites fewer for 121 MiB).
  void write_pages(std::uint32_t first_pgno, std::span<const std::uint8_t> pages,
                   std::uint32_t page_size) override;
  void truncate(std::uint32_t commit, std::uint32_t page_size) override;

 private:
  int fd_;
  std::string name_;
};

// The state of the database after the files applied so far.
struct DatabaseState {
  std::uint64_t txid = 0;  // 0: nothing applied yet
  std::uint32_t commit = 0;
  std::uint32_t page_size = 0;
  std::uint64_t checksum = kChecksumFlag;  // always computed, whatever the files carry
  // The database id of the encrypted files applied (Header::database_id; 0: none was
  // encrypted). Every encrypted file of a chain must carry the same (kAuthentication).
  std::uint64_t database_id = 0;
};

class ChainApplier {
 public:
  explicit ChainApplier(PageWriter& writer) : writer_(writer) {}

  // Applies the next file. The first must be a snapshot and each later one must start at the
  // current TXID + 1 (kTxidGap); page sizes must match (kBadPageSize); a checksummed file's
  // pre-apply checksum must equal the database's (kPreApplyMismatch) and its post-apply checksum
  // the database's after it (kPostApplyMismatch); a file that grows the database must carry every
  // new page (kIncompleteGrowth); an encrypted file must belong to the database of the encrypted
  // files before it (kAuthentication). Plus everything the decoder checks.
  void apply(const Source& source, std::string name = {});
  // The same for a file decode_file() has already decoded and verified (on another thread):
  // every check above that involves the database happens here, in chain order.
  void apply(const DecodedFile& file, const std::string& name);
  // The same for a decoded file whose pages the caller has written already (write_decoded_pages(),
  // e.g. on the thread that decoded it): the same checks and accounting, no write. `file.pages`
  // may be empty.
  void apply_written(const DecodedFile& file, const std::string& name);

  const DatabaseState& state() const { return state_; }

 private:
  void check_continuity(const Header& h, const std::string& name) const;
  // A decoded file's checks and page accounting, before its pages are written; returns the commit
  // before it.
  std::uint32_t add_pages(const DecodedFile& file, const std::string& name);
  // Accounts for page `pgno` (checksum `sum`) of a file whose header is `h`, before it is written.
  void add_page(std::uint32_t pgno, std::uint64_t sum, const Header& h, const std::string& name,
                std::uint32_t old_commit);
  // After a file's last page: drops pages past its commit, checks growth and the post-apply
  // checksum, and moves state_ on.
  void finish_file(const Header& h, const Trailer& t, const std::string& name,
                   std::uint32_t old_commit);
  [[noreturn]] void growth_error(const Header& h, const std::string& name, std::uint32_t old_commit,
                                 std::uint64_t missing) const;

  PageWriter& writer_;
  DatabaseState state_;
  DatabaseChecksum checksum_;
  std::vector<std::uint64_t> page_sums_;  // [pgno - 1]: checksum of the page as written; 0: none
};

// Writes a decoded file's pages to `writer`, each run of consecutive pages with one write_pages.
void write_decoded_pages(const DecodedFile& file, PageWriter& writer);

// Restores `chain` into the file open as `fd`: truncates it to zero, applies every file in order
// and leaves exactly commit * page_size bytes. Returns the final state. See the warning above
// about failures.
DatabaseState restore_to_fd(std::span<const NamedSource> chain, int fd, std::string name = {});

}  // namespace ltxvfs::ltx
