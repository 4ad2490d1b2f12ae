// Rules every backend applies to keys and metadata, so that what works against a directory also
// works against S3 (and the other way round). Violations throw StoreError(kInvalidArgument).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace ltxvfs::storage {

// Object keys: non-empty, at most 1024 bytes, no NUL, not starting with '/'.
void validate_key(std::string_view key, std::string_view context);
// Metadata names: lower-case ASCII letters, digits, '-' and '_'; values: printable ASCII (they
// travel as HTTP header values). Total size at most 2 KiB, as on S3.
void validate_metadata(const std::map<std::string, std::string>& metadata,
                       std::string_view context);

}  // namespace ltxvfs::storage
