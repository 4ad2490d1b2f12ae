// Replica locations as users write them:
//
//   s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION&path_style=true|false]
//       (force_path_style is accepted as a synonym of path_style)
//   file:///absolute/dir   (or file://localhost/absolute/dir)
//   /absolute/dir  or  relative/dir   (a plain directory path)
//
// Anything else — a missing bucket, an illegal bucket name, an unknown scheme or query
// parameter — is rejected with StoreError(kInvalidArgument) and a message saying what is wrong.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ltxvfs::storage {

struct ReplicaUrl {
  enum class Kind { kS3, kFile };
  Kind kind = Kind::kFile;

  // kS3
  std::string bucket;
  std::string prefix;  // no leading or trailing '/', no empty segments; may be empty
  std::optional<std::string> endpoint;  // "http(s)://host[:port]" without a trailing '/'
  std::optional<std::string> region;
  std::optional<bool> path_style;

  // kFile: the directory, as given (relative paths are resolved by the store).
  std::string path;

  // A canonical spelling for messages ("s3://bucket/prefix", "file:///dir"). No secrets.
  std::string to_string() const;
};

ReplicaUrl parse_replica_url(std::string_view url);

// S3 bucket naming rules (3-63 characters of a-z 0-9 . -, starting and ending with a letter or
// digit, no "..", not an IPv4 address). On failure `why` says which rule was broken.
bool is_valid_bucket_name(std::string_view name, std::string* why = nullptr);

// Checks an S3 endpoint "http(s)://host[:port][/]" (no path, query or credentials) and returns it
// without the trailing '/'; nullopt with `why` set otherwise.
std::optional<std::string> normalize_endpoint(std::string_view endpoint, std::string* why);

}  // namespace ltxvfs::storage
