#include "storage/validation.h"

#include "storage/object_store.h"

namespace ltxvfs::storage {

void validate_key(std::string_view key, std::string_view context) {
  auto fail = [&](const std::string& why) {
    throw StoreError(StoreErrorKind::kInvalidArgument, std::string(context) + ": " + why);
  };
  if (key.empty()) fail("empty object key");
  if (key.size() > 1024) fail("object key longer than 1024 bytes");
  if (key.front() == '/') fail("object key must not start with '/'");
  if (key.find('\0') != std::string_view::npos) fail("object key contains a NUL byte");
}

void validate_metadata(const std::map<std::string, std::string>& metadata,
                       std::string_view context) {
  size_t total = 0;
  for (const auto& entry : metadata) {
    // Not a structured binding: clang < 16 cannot capture those in a lambda.
    const std::string& name = entry.first;
    const std::string& value = entry.second;
    auto fail = [&](const std::string& why) {
      throw StoreError(StoreErrorKind::kInvalidArgument,
                       std::string(context) + ": metadata \"" + name + "\" " + why);
    };
    if (name.empty()) fail("has an empty name");
    for (char c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        fail("has an invalid name (use lower-case letters, digits, '-' and '_')");
      }
    }
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) fail("has a value with a non-printable or non-ASCII byte");
    }
    total += name.size() + value.size();
  }
  if (total > 2048) {
    throw StoreError(StoreErrorKind::kInvalidArgument,
                     std::string(context) + ": metadata larger than 2 KiB");
  }
}

}  // namespace ltxvfs::storage
