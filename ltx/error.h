// Errors raised by the LTX library. Every failure is an LtxError carrying a machine-readable kind
// (so callers and tests can branch on *what* went wrong) and a message that names the file and
// says precisely what was expected and what was found.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace ltxvfs::ltx {

enum class LtxErrorKind {
  kLegacyV1,             // the pre-v0.5 layout (4-byte page headers, no page index)
  kBadMagic,             // the file does not start with "LTX1"
  kBadFlags,             // header flags outside what this reader knows
  kBadPageSize,          // not a power of two in 512..65536, or not the size expected
  kBadTxid,              // min TXID 0, or max < min
  kBadHeader,            // any other header rule (WAL fields, reserved bytes, pre-apply rules)
  kBadPageHeader,        // a page header that is neither a page nor the end marker
  kBadPageOrder,         // page numbers not strictly ascending
  kLockPage,             // the lock page is stored
  kPageBeyondCommit,     // a page number above the file's commit
  kIncompleteSnapshot,   // a snapshot without every page 1..commit
  kIncompleteGrowth,     // a file grows the database without carrying the new pages
  kUnsupportedEncoding,  // a page flag this reader does not know (or not allowed here)
  kDecompress,           // a page payload that does not decompress to exactly one page
  kBadIndex,             // the page index itself is malformed
  kIndexMismatch,        // the page index disagrees with the page frames
  kBadTrailer,           // trailer rules (post-apply checksum presence/format)
  kChecksumMismatch,     // the stored file checksum does not match the file
  kPreApplyMismatch,     // a file does not start from the database state it claims
  kPostApplyMismatch,    // the database after applying a file is not the state it claims
  kTxidGap,              // files that should be contiguous are not
  kTruncated,            // the file ends before its structure does
  kTrailingData,         // bytes after the trailer
  kIo,                   // the operating system refused a read or write
  kInvalidArgument,      // the library was called wrongly (a bug in the caller)
  kEncryptionKey,        // an encrypted file whose key is not loaded (or no key given at all)
  kAuthentication,       // an encrypted page or file that fails its authentication tag
};

// A short stable name for the kind ("checksum mismatch"), used in messages and test output.
std::string_view to_string(LtxErrorKind kind);

class LtxError : public std::runtime_error {
 public:
  // `subject` names what the error is about (usually the file name), `detail` says what is wrong;
  // what() is "<subject>: <detail>".
  LtxError(LtxErrorKind kind, std::string_view subject, std::string_view detail);

  LtxErrorKind kind() const noexcept { return kind_; }

 private:
  LtxErrorKind kind_;
};

// The subject used in messages when the caller gave no file name.
std::string_view subject_or_default(std::string_view name);

// "0x0123456789abcdef": checksums in messages are always 16 hex digits, as Litestream prints them.
std::string hex64(unsigned long long value);

}  // namespace ltxvfs::ltx
