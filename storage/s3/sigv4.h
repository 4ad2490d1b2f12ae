// AWS Signature Version 4 (header form) as S3 verifies it.
//
// S3 differs from the generic SigV4 rules in two ways this code follows: the canonical URI is the
// request path percent-encoded ONCE (generic services double-encode), and it is NOT normalised
// (a key "a//b/../c" is signed as written). Every S3 request also carries x-amz-content-sha256
// (the hex SHA-256 of the body, or UNSIGNED-PAYLOAD).
//
// libcurl's built-in CURLOPT_AWS_SIGV4 (7.88) is unusable for S3: it does not sort the query,
// does not send x-amz-content-sha256, and signs headers it then removes. Hence this file.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "storage/s3/credentials.h"

namespace ltxvfs::storage::sigv4 {

using Params = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kUnsignedPayload = "UNSIGNED-PAYLOAD";
// SHA-256 of the empty string.
inline constexpr const char* kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Request {
  std::string method;  // "GET", "PUT", ...
  // The path exactly as it goes on the wire, already percent-encoded (see uri_encode). Signed as
  // is: S3 neither decodes-and-re-encodes nor normalises it.
  std::string canonical_uri;
  Params query;              // raw (not encoded) names and values
  Params headers;            // every header to sign, any case; must include "host" and "x-amz-date"
  std::string payload_hash;  // hex SHA-256 of the body, or kUnsignedPayload
};

struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
};

// "a=1&b=2": names and values RFC 3986-encoded ('/' too), sorted by encoded name then value.
// Also the query string to put in the URL, so the two always agree.
std::string canonical_query(const Params& query);
// Lower-cased names, trimmed values with inner runs of spaces collapsed, repeated names joined
// with ',', sorted by name; one "name:value\n" per header. `signed_headers` receives "a;b;c".
std::string canonical_headers(const Params& headers, std::string* signed_headers);
std::string canonical_request(const Request& request, std::string* signed_headers = nullptr);

// Signs `request` at `amz_date` ("YYYYMMDDTHHMMSSZ"; the scope date is its first 8 characters).
Signature sign(const Request& request, const Credentials& credentials, const std::string& amz_date,
               const std::string& region, const std::string& service);

// For S3: adds x-amz-date, x-amz-content-sha256 (= request.payload_hash) and, with a session
// token, x-amz-security-token to request.headers, signs, and returns the Authorization value.
std::string sign_s3(Request& request, const Credentials& credentials, const std::string& amz_date,
                    const std::string& region);

}  // namespace ltxvfs::storage::sigv4
