// Just enough XML for the S3 responses this project reads (Error, ListBucketResult of
// ListObjectsV2, DeleteResult) and the one request body it writes (Delete). S3's XML is flat and
// machine-generated, so a scanner for known element names is sufficient and adds no dependency.
// Malformed input throws std::runtime_error, which the store reports as kProtocol.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/object_store.h"

namespace ltxvfs::storage::s3xml {

struct ErrorInfo {
  std::string code;      // e.g. "NoSuchKey"
  std::string message;   // e.g. "The specified key does not exist."
  std::string endpoint;  // PermanentRedirect: the endpoint to use instead
};

struct ListPage {
  std::vector<ObjectInfo> objects;  // keys as the server sent them (full keys, decoded)
  bool truncated = false;
  std::string next_continuation_token;
};

struct DeleteFailure {
  std::string key;
  std::string code;
  std::string message;
};

// The <Error> document of a failed request; nullopt when `xml` is not one.
std::optional<ErrorInfo> parse_error(std::string_view xml);
// A ListObjectsV2 page. Keys are URL-decoded when the response says <EncodingType>url.
ListPage parse_list_objects_v2(std::string_view xml);
// The <Error> entries of a DeleteObjects answer (empty when every key was deleted).
std::vector<DeleteFailure> parse_delete_result(std::string_view xml);
// A DeleteObjects request body in quiet mode (only failures are reported back).
std::string delete_request_body(const std::vector<std::string>& keys);

// Can `text` appear in an XML 1.0 document at all (even escaped)? Control characters other
// than tab, CR and LF cannot.
bool representable_in_xml(std::string_view text);
std::string escape(std::string_view text);
std::string unescape(std::string_view text);  // entities and numeric references; throws if bad

}  // namespace ltxvfs::storage::s3xml
