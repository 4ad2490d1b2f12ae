#include "storage/s3/sigv4.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "storage/s3/crypto.h"
#include "storage/uri_encoding.h"

namespace ltxvfs::storage::sigv4 {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Trim, and turn every run of whitespace into one space ("Trimall" in the SigV4 spec).
std::string trimall(const std::string& value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::string canonical_query(const Params& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::string canonical_headers(const Params& headers, std::string* signed_headers) {
  // Stable sort keeps the order of repeated headers, which is the order their values join in.
  std::vector<std::pair<std::string, std::string>> sorted;
  sorted.reserve(headers.size());
  for (const auto& [name, value] : headers) sorted.emplace_back(lower(name), trimall(value));
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  std::string names;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && sorted[i].first == sorted[i - 1].first) {
      out.back() = ',';  // replace the previous line's '\n'
      out += sorted[i].second;
      out.push_back('\n');
      continue;
    }
    out += sorted[i].first;
    out.push_back(':');
    out += sorted[i].second;
    out.push_back('\n');
    if (!names.empty()) names.push_back(';');
    names += sorted[i].first;
  }
  if (signed_headers) *signed_headers = names;
  return out;
}

std::string canonical_request(const Request& request, std::string* signed_headers) {
  std::string names;
  std::string headers = canonical_headers(request.headers, &names);
  if (signed_headers) *signed_headers = names;
  return request.method + '\n' + (request.canonical_uri.empty() ? "/" : request.canonical_uri) +
         '\n' + canonical_query(request.query) + '\n' + headers + '\n' + names + '\n' +
         request.payload_hash;
}

Signature sign(const Request& request, const Credentials& credentials, const std::string& amz_date,
               const std::string& region, const std::string& service) {
  if (amz_date.size() != 16) throw std::invalid_argument("sigv4: amz_date must be 16 characters");
  Signature sig;
  sig.canonical_request = canonical_request(request, &sig.signed_headers);
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = date + '/' + region + '/' + service + "/aws4_request";
  sig.string_to_sign = "AWS4-HMAC-SHA256\n" + amz_date + '\n' + scope + '\n' +
                       crypto::sha256_hex(sig.canonical_request);

  const std::string secret = "AWS4" + credentials.secret_access_key;
  auto key = crypto::hmac_sha256(bytes_of(secret), date);
  key = crypto::hmac_sha256(key, region);
  key = crypto::hmac_sha256(key, service);
  key = crypto::hmac_sha256(key, "aws4_request");
  sig.signature = crypto::hex(crypto::hmac_sha256(key, sig.string_to_sign));

  sig.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + '/' + scope +
                      ", SignedHeaders=" + sig.signed_headers + ", Signature=" + sig.signature;
  return sig;
}

std::string sign_s3(Request& request, const Credentials& credentials, const std::string& amz_date,
                    const std::string& region) {
  request.headers.emplace_back("x-amz-date", amz_date);
  request.headers.emplace_back("x-amz-content-sha256", request.payload_hash);
  if (!credentials.session_token.empty()) {
    request.headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  return sign(request, credentials, amz_date, region, "s3").authorization;
}

}  // namespace ltxvfs::storage::sigv4
