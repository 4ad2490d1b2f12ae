#include "ltx/error.h"

#include <cstdio>

namespace ltxvfs::ltx {

std::string_view to_string(LtxErrorKind kind) {
  switch (kind) {
    case LtxErrorKind::kLegacyV1:
      return "legacy v1 layout";
    case LtxErrorKind::kBadMagic:
      return "bad magic";
    case LtxErrorKind::kBadFlags:
      return "bad flags";
    case LtxErrorKind::kBadPageSize:
      return "bad page size";
    case LtxErrorKind::kBadTxid:
      return "bad TXID";
    case LtxErrorKind::kBadHeader:
      return "bad header";
    case LtxErrorKind::kBadPageHeader:
      return "bad page header";
    case LtxErrorKind::kBadPageOrder:
      return "bad page order";
    case LtxErrorKind::kLockPage:
      return "lock page stored";
    case LtxErrorKind::kPageBeyondCommit:
      return "page beyond commit";
    case LtxErrorKind::kIncompleteSnapshot:
      return "incomplete snapshot";
    case LtxErrorKind::kIncompleteGrowth:
      return "incomplete growth";
    case LtxErrorKind::kUnsupportedEncoding:
      return "unsupported encoding";
    case LtxErrorKind::kDecompress:
      return "decompression failed";
    case LtxErrorKind::kBadIndex:
      return "bad page index";
    case LtxErrorKind::kIndexMismatch:
      return "page index mismatch";
    case LtxErrorKind::kBadTrailer:
      return "bad trailer";
    case LtxErrorKind::kChecksumMismatch:
      return "checksum mismatch";
    case LtxErrorKind::kPreApplyMismatch:
      return "pre-apply checksum mismatch";
    case LtxErrorKind::kPostApplyMismatch:
      return "post-apply checksum mismatch";
    case LtxErrorKind::kTxidGap:
      return "TXID gap";
    case LtxErrorKind::kTruncated:
      return "truncated";
    case LtxErrorKind::kTrailingData:
      return "trailing data";
    case LtxErrorKind::kIo:
      return "I/O error";
    case LtxErrorKind::kInvalidArgument:
      return "invalid argument";
    case LtxErrorKind::kEncryptionKey:
      return "encryption key unavailable";
    case LtxErrorKind::kAuthentication:
      return "authentication failed";
  }
  return "unknown";
}

namespace {
std::string compose(std::string_view subject, std::string_view detail) {
  std::string out;
  out.reserve(subject.size() + 2 + detail.size());
  out.append(subject).append(": ").append(detail);
  return out;
}
}  // namespace

LtxError::LtxError(LtxErrorKind kind, std::string_view subject, std::string_view detail)
    : std::runtime_error(compose(subject_or_default(subject), detail)), kind_(kind) {}

std::string_view subject_or_default(std::string_view name) {
  return name.empty() ? std::string_view("LTX file") : name;
}

std::string hex64(unsigned long long value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", value);
  return buf;
}

}  // namespace ltxvfs::ltx
