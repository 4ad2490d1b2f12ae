// The names used for StoreErrorKind in messages and logs.
#include "storage/object_store.h"

namespace ltxvfs::storage {

const char* to_string(StoreErrorKind kind) {
  switch (kind) {
    case StoreErrorKind::kNotFound:
      return "not found";
    case StoreErrorKind::kNoSuchBucket:
      return "no such bucket";
    case StoreErrorKind::kPreconditionFailed:
      return "precondition failed";
    case StoreErrorKind::kAccessDenied:
      return "access denied";
    case StoreErrorKind::kBadCredentials:
      return "bad credentials";
    case StoreErrorKind::kInvalidRange:
      return "invalid range";
    case StoreErrorKind::kInvalidArgument:
      return "invalid argument";
    case StoreErrorKind::kUnavailable:
      return "unavailable";
    case StoreErrorKind::kProtocol:
      return "protocol error";
    case StoreErrorKind::kIo:
      return "I/O error";
    case StoreErrorKind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace ltxvfs::storage
