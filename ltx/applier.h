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
#include "ltx/page_writer.h"
#include "ltx/source.h"

namespace ltxvfs::ltx {

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
  // The same for a file decode_file() has already decoded, verified and written (on another
  // thread): every check above that involves the database happens here, in chain order, and
  // nothing is written.
  void apply(const DecodedFile& file, const std::string& name);

  const DatabaseState& state() const { return state_; }

 private:
  void check_continuity(const Header& h, const std::string& name) const;
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

// Restores `chain` into the file open as `fd`: truncates it to zero, applies every file in order
// and leaves exactly commit * page_size bytes. Returns the final state. See the warning above
// about failures.
DatabaseState restore_to_fd(std::span<const NamedSource> chain, int fd, std::string name = {});

}  // namespace ltxvfs::ltx
