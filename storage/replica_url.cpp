#include "storage/replica_url.h"

#include <cctype>
#include <vector>

#include "storage/object_store.h"
#include "storage/uri_encoding.h"

namespace ltxvfs::storage {
namespace {

// The URL for messages. One with an '@' anywhere (also percent-encoded, also inside the endpoint
// parameter) may carry "user:password@", so it is not echoed at all.
std::string redacted(std::string_view url) {
  std::string lower(url);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find('@') != std::string::npos || lower.find("%40") != std::string::npos) {
    return "(not shown: it contains '@', which may be a credential)";
  }
  return "\"" + std::string(url) + "\"";
}

[[noreturn]] void invalid(std::string_view url, const std::string& why) {
  throw StoreError(StoreErrorKind::kInvalidArgument,
                   "invalid replica URL " + redacted(url) + ": " + why);
}

bool is_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i || j - i > 3) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

std::optional<bool> parse_bool(std::string_view v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> normalize_endpoint(std::string_view e, std::string* why) {
  std::string_view rest;
  if (e.rfind("http://", 0) == 0) {
    rest = e.substr(7);
  } else if (e.rfind("https://", 0) == 0) {
    rest = e.substr(8);
  } else {
    *why = "endpoint must start with http:// or https://";
    return std::nullopt;
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('@') != std::string_view::npos) {
    *why = "endpoint must not contain credentials; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
    return std::nullopt;
  }
  if (rest.empty() || rest.find_first_of("/?#") != std::string_view::npos) {
    *why = "endpoint must be scheme://host[:port] with no path";
    return std::nullopt;
  }
  std::string_view host = rest;
  if (host.front() == '[') {  // IPv6 literal
    auto close = host.find(']');
    if (close == std::string_view::npos) {
      *why = "endpoint has an unterminated IPv6 address";
      return std::nullopt;
    }
    host = host.substr(close + 1);
  }
  if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    auto port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos) {
      *why = "endpoint port must be a number";
      return std::nullopt;
    }
  }
  return std::string(e.substr(0, e.size() - (e.back() == '/' ? 1 : 0)));
}

namespace {

// Splits `path` on '/', dropping empty segments, and rejects "." and "..".
std::optional<std::string> normalize_prefix(std::string_view path, std::string* why) {
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view segment = path.substr(i, j - i);
    if (segment == "." || segment == "..") {
      *why = "prefix must not contain '.' or '..' segments";
      return std::nullopt;
    }
    if (!segment.empty()) {
      if (!out.empty()) out.push_back('/');
      out.append(segment);
    }
    i = j + 1;
  }
  return out;
}

ReplicaUrl parse_s3(std::string_view url) {
  std::string_view rest = url.substr(5);  // after "s3://"
  if (rest.find('#') != std::string_view::npos) invalid(url, "fragments (#) are not allowed");
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const auto slash = rest.find('/');
  const std::string_view bucket = rest.substr(0, slash);
  const std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (bucket.empty()) invalid(url, "missing bucket name — expected s3://BUCKET[/PREFIX]");
  if (bucket.find('@') != std::string_view::npos) {
    invalid(url,
            "credentials do not belong in the URL; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
            "AWS_PROFILE");
  }

  ReplicaUrl out;
  out.kind = ReplicaUrl::Kind::kS3;
  std::string why;
  if (!is_valid_bucket_name(bucket, &why)) {
    invalid(url, "bucket name \"" + std::string(bucket) + "\" is not valid: " + why);
  }
  out.bucket = std::string(bucket);
  auto decoded_path = percent_decode(path);
  if (!decoded_path) invalid(url, "bad percent-encoding in the prefix");
  auto prefix = normalize_prefix(*decoded_path, &why);
  if (!prefix) invalid(url, why);
  out.prefix = *prefix;

  size_t i = 0;
  while (!query.empty() && i <= query.size()) {
    size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    const std::string_view pair = query.substr(i, j - i);
    i = j + 1;
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string name(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value) invalid(url, "bad percent-encoding in the value of \"" + name + "\"");
    if (value->empty()) invalid(url, "query parameter \"" + name + "\" has no value");
    if (name == "endpoint") {
      if (out.endpoint) invalid(url, "endpoint given twice");
      auto endpoint = normalize_endpoint(*value, &why);
      if (!endpoint) invalid(url, why);
      out.endpoint = *endpoint;
    } else if (name == "region") {
      if (out.region) invalid(url, "region given twice");
      if (value->find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
        invalid(url, "region \"" + *value + "\" may only contain a-z, 0-9 and '-'");
      }
      out.region = *value;
    } else if (name == "path_style" || name == "force_path_style") {
      if (out.path_style) invalid(url, "path_style given twice");
      auto flag = parse_bool(*value);
      if (!flag) invalid(url, name + " must be true or false, not \"" + *value + "\"");
      out.path_style = *flag;
    } else {
      invalid(url, "unknown query parameter \"" + name +
                       "\" (known: endpoint, region, path_style, force_path_style)");
    }
  }
  return out;
}

ReplicaUrl parse_file(std::string_view url) {
  std::string_view rest = url.substr(5);  // after "file:"
  if (rest.find_first_of("?#") != std::string_view::npos) {
    invalid(url, "file: URLs take no query parameters or fragment");
  }
  if (rest.rfind("//", 0) == 0) {
    rest.remove_prefix(2);
    const auto slash = rest.find('/');
    const std::string_view host = rest.substr(0, slash);
    if (!host.empty() && host != "localhost") {
      invalid(url, "file: URLs must name a local path (file:///dir), not host \"" +
                       std::string(host) + "\"");
    }
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  if (rest.empty() || rest.front() != '/') invalid(url, "file: URLs need an absolute path");
  auto path = percent_decode(rest);
  if (!path) invalid(url, "bad percent-encoding in the path");
  ReplicaUrl out;
  out.kind = ReplicaUrl::Kind::kFile;
  out.path = *path;
  while (out.path.size() > 1 && out.path.back() == '/') out.path.pop_back();
  return out;
}

}  // namespace

bool is_valid_bucket_name(std::string_view name, std::string* why) {
  auto fail = [&](const char* reason) {
    if (why) *why = reason;
    return false;
  };
  if (name.size() < 3 || name.size() > 63) return fail("it must be 3 to 63 characters long");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
      return fail("only lower-case letters, digits, '.' and '-' are allowed");
    }
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) {
    return fail("it must start and end with a letter or digit");
  }
  if (name.find("..") != std::string_view::npos) return fail("it must not contain \"..\"");
  if (is_ipv4(name)) return fail("it must not look like an IP address");
  return true;
}

std::string ReplicaUrl::to_string() const {
  if (kind == Kind::kFile) {
    return (path.empty() || path.front() != '/') ? path : "file://" + path;
  }
  return "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix);
}

ReplicaUrl parse_replica_url(std::string_view url) {
  if (url.empty()) invalid(url, "empty replica location");
  if (url.rfind("s3://", 0) == 0) return parse_s3(url);
  if (url.rfind("s3:", 0) == 0) invalid(url, "expected s3://BUCKET[/PREFIX]");
  if (url.rfind("file:", 0) == 0) return parse_file(url);
  // Something that looks like "scheme://..." but is not one of ours.
  if (auto sep = url.find("://"); sep != std::string_view::npos) {
    const std::string_view scheme = url.substr(0, sep);
    bool scheme_like = !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme[0]));
    for (char c : scheme) {
      scheme_like = scheme_like && (std::isalnum(static_cast<unsigned char>(c)) || c == '+' ||
                                    c == '-' || c == '.');
    }
    if (scheme_like) {
      invalid(url, "unsupported scheme \"" + std::string(scheme) +
                       "\" (supported: s3://, file://, or a directory path)");
    }
  }
  ReplicaUrl out;
  out.kind = ReplicaUrl::Kind::kFile;
  out.path = std::string(url);
  while (out.path.size() > 1 && out.path.back() == '/') out.path.pop_back();
  return out;
}

}  // namespace ltxvfs::storage
