#include "storage/s3/s3_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "base/time_util.h"
#include "storage/s3/crypto.h"
#include "storage/s3/s3_xml.h"
#include "storage/uri_encoding.h"
#include "storage/validation.h"

namespace ltxvfs::storage {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxDeleteBatch = 1000;  // S3's limit per DeleteObjects request

void log_to_stderr(std::string_view message) {
  std::fprintf(stderr, "ltxvfs: %.*s\n", static_cast<int>(message.size()), message.data());
}

std::string seconds_text(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

StoreErrorKind kind_for(long status, const std::string& code) {
  if (code == "NoSuchKey") return StoreErrorKind::kNotFound;
  if (code == "NoSuchBucket") return StoreErrorKind::kNoSuchBucket;
  if (code == "PreconditionFailed" || code == "ConditionalRequestConflict") {
    return StoreErrorKind::kPreconditionFailed;
  }
  if (code == "InvalidRange") return StoreErrorKind::kInvalidRange;
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" || code == "ExpiredToken" ||
      code == "InvalidToken" || code == "TokenRefreshRequired" || code == "RequestTimeTooSkewed" ||
      code == "MissingSecurityHeader") {
    return StoreErrorKind::kBadCredentials;
  }
  if (code == "AccessDenied" || code == "AllAccessDisabled" || code == "AccountProblem") {
    return StoreErrorKind::kAccessDenied;
  }
  if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") {
    return StoreErrorKind::kInvalidArgument;
  }
  if (status >= 500) return StoreErrorKind::kUnavailable;
  switch (status) {
    case 400:
      return StoreErrorKind::kInvalidArgument;
    case 401:
    case 403:
      return StoreErrorKind::kAccessDenied;
    case 404:
      return StoreErrorKind::kNotFound;
    case 409:
    case 412:
      return StoreErrorKind::kPreconditionFailed;
    case 416:
      return StoreErrorKind::kInvalidRange;
    default:
      return StoreErrorKind::kProtocol;
  }
}

const char* reason_phrase(long status) {
  switch (status) {
    case 301:
      return "Moved Permanently";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 416:
      return "Range Not Satisfiable";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

std::map<std::string, std::string> metadata_from(const HttpResponse& response) {
  std::map<std::string, std::string> out;
  static constexpr std::string_view kMetaPrefix = "x-amz-meta-";
  for (const auto& [name, value] : response.headers) {
    if (name.rfind(kMetaPrefix, 0) == 0) out[name.substr(kMetaPrefix.size())] = value;
  }
  return out;
}

int64_t last_modified_of(const HttpResponse& response) {
  const std::string* value = response.header("last-modified");
  return value ? base::parse_http_date_ms(*value).value_or(0) : 0;
}

// Hex SHA-256 of a body, read in chunks so a large body is never in memory. Looks at the
// cancellation between chunks: hashing a large file takes a while.
std::string payload_sha256(const BodySource& body, const Cancellation* cancel,
                           const std::string& operation) {
  constexpr uint64_t kChunk = 256 << 10;  // small: it runs inside the writing process
  crypto::Sha256Hasher hasher;
  std::vector<uint8_t> buffer(static_cast<size_t>(std::min<uint64_t>(kChunk, body.size())));
  for (uint64_t offset = 0; offset < body.size(); offset += buffer.size()) {
    throw_if_cancelled(cancel, operation);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), body.size() - offset));
    body.read_at(offset, {buffer.data(), n});
    hasher.update({buffer.data(), n});
  }
  return crypto::hex(hasher.finish());
}

std::optional<uint64_t> parse_u64(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::strtoull(s.c_str(), nullptr, 10);
}

}  // namespace

// One logical S3 request, retried as a unit.
struct S3Store::Op {
  std::string verb;      // for messages: "PUT", "GET", "LIST", ...
  std::string method;    // HTTP method
  std::string full_key;  // bucket-relative key, "" for bucket-level requests
  sigv4::Params query;
  HttpHeaders headers;               // sent and signed
  const BodySource* body = nullptr;  // PUT/POST; null = empty
  std::vector<long> ok_statuses{200};
  std::string hint_context;  // e.g. "If-None-Match" to explain a 412
  std::string subject;       // what messages name; default: s3://bucket/full_key
};

S3Store::S3Store(const ReplicaUrl& url, const StoreSettings& settings)
    : bucket_(url.bucket),
      prefix_(url.prefix),
      list_page_size_(std::clamp(settings.list_page_size, 1, 1000)),
      stats_(settings.stats ? settings.stats : std::make_shared<StoreStats>()),
      cancel_(settings.cancel) {
  if (url.kind != ReplicaUrl::Kind::kS3) {
    throw StoreError(StoreErrorKind::kInvalidArgument,
                     "S3Store needs an s3:// URL, not " + url.to_string());
  }
  const Env& env = settings.env;
  region_ = url.region ? *url.region
                       : env.first_of({"AWS_REGION", "AWS_DEFAULT_REGION"}).value_or("us-east-1");

  bool custom_endpoint = true;
  std::string endpoint_source = "the replica URL";
  std::optional<std::string> endpoint = url.endpoint;
  if (!endpoint) {
    if ((endpoint = env.get("AWS_ENDPOINT_URL_S3")))
      endpoint_source = "AWS_ENDPOINT_URL_S3";
    else if ((endpoint = env.get("AWS_ENDPOINT_URL")))
      endpoint_source = "AWS_ENDPOINT_URL";
  }
  if (endpoint) {
    std::string why;
    auto normalized = normalize_endpoint(*endpoint, &why);
    if (!normalized) {
      throw StoreError(StoreErrorKind::kInvalidArgument,
                       describe() + ": invalid endpoint from " + endpoint_source + ": " + why);
    }
    endpoint_ = *normalized;
  } else {
    custom_endpoint = false;
    endpoint_ = "https://s3." + region_ + ".amazonaws.com";
  }
  const auto scheme_end = endpoint_.find("://");
  scheme_ = endpoint_.substr(0, scheme_end);
  endpoint_host_ = endpoint_.substr(scheme_end + 3);
  path_style_ = url.path_style.value_or(custom_endpoint || bucket_.find('.') != std::string::npos);

  credentials_ =
      settings.credentials ? *settings.credentials : resolve_credentials(env, describe());

  HttpOptions http = settings.http;
  if (http.ca_bundle.empty()) http.ca_bundle = env.get("AWS_CA_BUNDLE").value_or("");
  if (http.proxy.empty()) {
    http.proxy = (scheme_ == "https" ? env.first_of({"HTTPS_PROXY", "https_proxy"})
                                     : env.first_of({"HTTP_PROXY", "http_proxy"}))
                     .value_or("");
  }
  if (http.no_proxy.empty()) http.no_proxy = env.first_of({"NO_PROXY", "no_proxy"}).value_or("");
  LogFn log = settings.log ? settings.log : LogFn(log_to_stderr);
  http_ = std::make_unique<HttpClient>(std::move(http), log);
  backoff_ = std::make_unique<Backoff>(settings.retry);
}

S3Store::~S3Store() = default;

std::string S3Store::describe() const {
  return "s3://" + bucket_ + (prefix_.empty() ? "" : "/" + prefix_);
}

std::string S3Store::full_key(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "/" + key;
}

std::string S3Store::where(const std::string& key) const {
  return "s3://" + bucket_ + "/" + key;
}

S3Store::Target S3Store::target_for(const std::string& object_key) const {
  Target t;
  const std::string encoded_key = uri_encode(object_key, /*encode_slash=*/false);
  if (path_style_) {
    t.host = endpoint_host_;
    t.canonical_uri = "/" + bucket_ + (object_key.empty() ? "" : "/" + encoded_key);
  } else {
    t.host = bucket_ + "." + endpoint_host_;
    t.canonical_uri = "/" + encoded_key;
  }
  t.url = scheme_ + "://" + t.host + t.canonical_uri;
  return t;
}

HttpResponse S3Store::execute(const Op& op) {
  const RetryPolicy& policy = backoff_->policy();
  const int max_attempts = std::max(1, policy.max_attempts);
  const Target target = target_for(op.full_key);
  const std::string query = sigv4::canonical_query(op.query);
  const std::string subject =
      op.verb + " " + (op.subject.empty() ? where(op.full_key) : op.subject);
  throw_if_cancelled(cancel_.get(), subject);
  // Hash the payload once, in a first pass over the body: S3 checks it against what it
  // receives, which protects the data in transit.
  const std::string payload_hash = op.body == nullptr || op.body->size() == 0
                                       ? sigv4::kEmptyPayloadHash
                                       : payload_sha256(*op.body, cancel_.get(), subject);

  const auto start = Clock::now();
  std::string last_cause;
  int attempt = 0;
  while (true) {
    ++attempt;
    throw_if_cancelled(cancel_.get(), subject);
    sigv4::Request signable;
    signable.method = op.method;
    signable.canonical_uri = target.canonical_uri;
    signable.query = op.query;
    signable.headers = op.headers;
    signable.headers.emplace_back("host", target.host);
    signable.payload_hash = payload_hash;
    const std::string authorization = sigv4::sign_s3(
        signable, credentials_, base::amz_date(std::chrono::system_clock::now()), region_);

    HttpRequest request;
    request.method = op.method;
    request.url = target.url + (query.empty() ? "" : "?" + query);
    request.headers = std::move(signable.headers);
    request.headers.emplace_back("Authorization", authorization);
    request.body = op.body;  // every attempt reads it again from the start
    request.cancel = cancel_.get();

    StoreStats::add(stats_->requests);
    if (attempt > 1) StoreStats::add(stats_->retries);
    try {
      HttpResponse response = http_->perform(request);
      StoreStats::add(stats_->bytes_sent, response.bytes_sent);
      StoreStats::add(stats_->bytes_received, response.body.size());
      if (std::find(op.ok_statuses.begin(), op.ok_statuses.end(), response.status) !=
          op.ok_statuses.end()) {
        return response;
      }
      const auto info = s3xml::parse_error(response.body_text());
      const std::string code = info ? info->code : "";
      if (!is_retriable_http(response.status, code)) throw_http_error(op, response);
      last_cause = std::to_string(response.status) + (code.empty() ? "" : " " + code) +
                   (info && !info->message.empty() ? ": " + info->message : "");
    } catch (const HttpTransportError& e) {
      if (e.cancelled()) throw cancelled_error(subject);
      last_cause = e.what();
    }

    if (attempt >= max_attempts) break;
    const auto delay = backoff_->delay(attempt);
    if (Clock::now() - start + delay > policy.max_total) break;
    if (cancel_) {
      if (!cancel_->sleep_for(delay)) throw cancelled_error(subject);
    } else {
      std::this_thread::sleep_for(delay);
    }
  }
  throw StoreError(StoreErrorKind::kUnavailable,
                   subject + ": gave up after " + std::to_string(attempt) +
                       (attempt == 1 ? " attempt" : " attempts") + " in " +
                       seconds_text(Clock::now() - start) + "; last cause: " + last_cause +
                       " — check that " + endpoint_ +
                       " is reachable (network, DNS, proxy) and healthy, then try again");
}

void S3Store::throw_http_error(const Op& op, const HttpResponse& response) const {
  const auto info = s3xml::parse_error(response.body_text());
  const std::string code = info ? info->code : "";
  const StoreErrorKind kind = kind_for(response.status, code);

  std::string message = op.verb + " " + (op.subject.empty() ? where(op.full_key) : op.subject) +
                        ": " + std::to_string(response.status) + " " +
                        (code.empty() ? reason_phrase(response.status) : code);
  if (info && !info->message.empty()) message += ": " + info->message;

  std::string hint;
  const std::string creds = " (credentials from " + credentials_.source + ")";
  if (code == "SignatureDoesNotMatch") {
    hint = "check AWS_SECRET_ACCESS_KEY (or aws_secret_access_key in the profile) for access key " +
           credentials_.access_key_id + creds;
  } else if (code == "InvalidAccessKeyId") {
    hint = "access key " + credentials_.access_key_id + creds + " is unknown to " + endpoint_ +
           " — check AWS_ACCESS_KEY_ID/AWS_PROFILE and the endpoint";
  } else if (code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired") {
    hint = "the session token is expired or invalid — refresh AWS_SESSION_TOKEN" + creds;
  } else if (code == "RequestTimeTooSkewed") {
    hint = "this machine's clock is off — synchronise it (NTP)";
  } else if (kind == StoreErrorKind::kAccessDenied) {
    hint = "the credentials" + creds + " may not " + op.verb + " in bucket " + bucket_ +
           " — check the bucket policy and IAM permissions" +
           (op.method == "HEAD" ? " (HEAD answers carry no error details)" : "");
  } else if (code == "NoSuchBucket") {
    hint = "create bucket " + bucket_ + " or fix the bucket name in the replica URL (endpoint " +
           endpoint_ + ")";
  } else if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") {
    const std::string* actual = response.header("x-amz-bucket-region");
    hint = actual ? "the bucket is in region " + *actual + " — add region=" + *actual +
                        " to the replica URL or set AWS_REGION"
                  : "the region " + region_ + " is probably wrong — set region= in the URL";
  } else if (kind == StoreErrorKind::kPreconditionFailed) {
    hint = op.hint_context == "If-None-Match"
               ? "an object already exists under this key"
               : "the object changed since its etag was read (If-Match)";
  } else if (code == "NotImplemented" || response.status == 501 || response.status == 405) {
    hint = "this S3-compatible server does not support the operation";
  }
  if (!hint.empty()) message += " — " + hint;
  throw StoreError(kind, message);
}

PutResult S3Store::put(const std::string& key, std::span<const uint8_t> body,
                       const PutOptions& options) {
  return put_body(key, MemoryBody(body), options);
}

PutResult S3Store::put_body(const std::string& key, const BodySource& body,
                            const PutOptions& options) {
  try {
    StoreStats::add(stats_->puts);
    validate_key(key, "PUT " + describe() + "/" + key);
    validate_metadata(options.metadata, "PUT " + describe() + "/" + key);
    Op op;
    op.verb = "PUT";
    op.method = "PUT";
    op.full_key = full_key(key);
    op.body = &body;
    // Explicit: with no type, some servers store a form-urlencoded body as an empty object.
    op.headers.emplace_back("content-type", "application/octet-stream");
    if (options.if_none_match) {
      op.headers.emplace_back("if-none-match", "*");
      op.hint_context = "If-None-Match";
    }
    if (options.if_match) {
      op.headers.emplace_back("if-match", *options.if_match);
      op.hint_context = "If-Match";
    }
    for (const auto& [name, value] : options.metadata) {
      op.headers.emplace_back("x-amz-meta-" + name, value);
    }
    HttpResponse response = execute(op);
    const std::string* etag = response.header("etag");
    return PutResult{etag ? *etag : ""};
  } catch (const StoreError&) {
    StoreStats::add(stats_->failures);
    throw;
  }
}

GetResult S3Store::get(const std::string& key, std::optional<ByteRange> range) {
  try {
    StoreStats::add(stats_->gets);
    validate_key(key, "GET " + describe() + "/" + key);
    Op op;
    op.verb = "GET";
    op.method = "GET";
    op.full_key = full_key(key);
    op.ok_statuses = {200, 206};
    auto invalid_range = [&](uint64_t size) {
      throw StoreError(StoreErrorKind::kInvalidRange,
                       "GET " + where(op.full_key) + ": 416 InvalidRange: range " +
                           (range->suffix ? "last " + std::to_string(range->length) + " bytes"
                                          : "offset " + std::to_string(range->offset)) +
                           " is outside the object of " + std::to_string(size) + " bytes");
    };
    if (range && range->length == 0) {
      // HTTP cannot express an empty range; answer from a HEAD.
      op.verb = "HEAD";
      op.method = "HEAD";
      op.ok_statuses = {200};
      HttpResponse response = execute(op);
      GetResult result;
      const std::string* length = response.header("content-length");
      result.object_size = length ? parse_u64(*length).value_or(0) : 0;
      if (range->suffix || range->offset > result.object_size) invalid_range(result.object_size);
      result.etag = response.header("etag") ? *response.header("etag") : "";
      result.last_modified_ms = last_modified_of(response);
      result.metadata = metadata_from(response);
      return result;
    }
    if (range) {
      const std::string spec = range->suffix
                                   ? "bytes=-" + std::to_string(range->length)
                                   : "bytes=" + std::to_string(range->offset) + "-" +
                                         std::to_string(range->offset + range->length - 1);
      op.headers.emplace_back("range", spec);
    }
    HttpResponse response = execute(op);

    GetResult result;
    result.etag = response.header("etag") ? *response.header("etag") : "";
    result.last_modified_ms = last_modified_of(response);
    result.metadata = metadata_from(response);
    if (response.status == 206) {
      // "bytes 0-9/443": the total after the slash is the object's size.
      const std::string* content_range = response.header("content-range");
      const auto slash = content_range ? content_range->rfind('/') : std::string::npos;
      auto total =
          slash == std::string::npos ? std::nullopt : parse_u64(content_range->substr(slash + 1));
      if (!total) {
        throw StoreError(StoreErrorKind::kProtocol,
                         "GET " + where(op.full_key) + ": 206 without a usable Content-Range (" +
                             (content_range ? *content_range : "missing") + ")");
      }
      result.object_size = *total;
      result.body = std::move(response.body);
    } else {
      // A 200 to a ranged request: the server ignored Range; cut the range out ourselves.
      result.object_size = response.body.size();
      if (range) {
        const uint64_t size = result.object_size;
        uint64_t begin = 0, end = size;
        if (range->suffix) {
          begin = size - std::min(range->length, size);
        } else {
          if (range->offset >= size) invalid_range(size);
          begin = range->offset;
          end = begin + std::min(range->length, size - begin);
        }
        result.body.assign(response.body.begin() + static_cast<std::ptrdiff_t>(begin),
                           response.body.begin() + static_cast<std::ptrdiff_t>(end));
      } else {
        result.body = std::move(response.body);
      }
    }
    return result;
  } catch (const StoreError&) {
    StoreStats::add(stats_->failures);
    throw;
  }
}

std::optional<ObjectInfo> S3Store::head(const std::string& key) {
  try {
    StoreStats::add(stats_->heads);
    validate_key(key, "HEAD " + describe() + "/" + key);
    Op op;
    op.verb = "HEAD";
    op.method = "HEAD";
    op.full_key = full_key(key);
    op.ok_statuses = {200, 404};
    HttpResponse response = execute(op);
    if (response.status == 404) return std::nullopt;
    ObjectInfo info;
    info.key = key;
    const std::string* length = response.header("content-length");
    info.size = length ? parse_u64(*length).value_or(0) : 0;
    info.etag = response.header("etag") ? *response.header("etag") : "";
    info.last_modified_ms = last_modified_of(response);
    return info;
  } catch (const StoreError&) {
    StoreStats::add(stats_->failures);
    throw;
  }
}

std::vector<ObjectInfo> S3Store::list(const std::string& prefix, const std::string& start_after) {
  try {
    const std::string root = prefix_.empty() ? "" : prefix_ + "/";
    const std::string full_prefix = root + prefix;
    std::vector<ObjectInfo> out;
    std::string token;
    while (true) {
      StoreStats::add(stats_->lists);
      Op op;
      op.verb = "LIST";
      op.method = "GET";
      op.subject = where(full_prefix);
      op.query = {{"list-type", "2"},
                  {"encoding-type", "url"},
                  {"max-keys", std::to_string(list_page_size_)}};
      if (!full_prefix.empty()) op.query.emplace_back("prefix", full_prefix);
      if (!token.empty()) {
        op.query.emplace_back("continuation-token", token);
      } else if (!start_after.empty()) {
        op.query.emplace_back("start-after", root + start_after);
      }
      HttpResponse response = execute(op);
      s3xml::ListPage page;
      try {
        page = s3xml::parse_list_objects_v2(response.body_text());
      } catch (const std::runtime_error& e) {
        throw StoreError(StoreErrorKind::kProtocol,
                         "LIST " + describe() + "/" + prefix +
                             ": cannot parse the ListObjectsV2 answer: " + e.what());
      }
      for (auto& object : page.objects) {
        // Filter again: some servers ignore start-after, and keys outside the root are not ours.
        if (object.key.rfind(full_prefix, 0) != 0) continue;
        object.key = object.key.substr(root.size());
        if (!start_after.empty() && object.key <= start_after) continue;
        out.push_back(std::move(object));
      }
      if (!page.truncated) break;
      if (page.next_continuation_token == token) {
        throw StoreError(StoreErrorKind::kProtocol,
                         "LIST " + describe() + "/" + prefix +
                             ": the server returned the same continuation token twice");
      }
      token = page.next_continuation_token;
    }
    // S3 already answers in key order; sorting guards against servers that do not.
    if (!std::is_sorted(out.begin(), out.end(),
                        [](const auto& a, const auto& b) { return a.key < b.key; })) {
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    }
    return out;
  } catch (const StoreError&) {
    StoreStats::add(stats_->failures);
    throw;
  }
}

void S3Store::delete_batch(const std::vector<std::string>& full_keys,
                           std::vector<std::string>* failures, StoreErrorKind* first_kind) {
  StoreStats::add(stats_->deletes);
  const std::string body = s3xml::delete_request_body(full_keys);
  Op op;
  op.verb = "DELETE";
  op.method = "POST";
  op.subject = describe() + " (" + std::to_string(full_keys.size()) + " keys)";
  op.query = {{"delete", ""}};
  const MemoryBody request_body({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  op.body = &request_body;
  op.headers.emplace_back("content-type", "application/xml");
  op.headers.emplace_back("content-md5", crypto::md5_base64(body));  // required by S3
  HttpResponse response = execute(op);
  std::vector<s3xml::DeleteFailure> result;
  try {
    result = s3xml::parse_delete_result(response.body_text());
  } catch (const std::runtime_error& e) {
    throw StoreError(
        StoreErrorKind::kProtocol,
        "DELETE " + describe() + ": cannot parse the DeleteObjects answer: " + e.what());
  }
  for (const auto& failure : result) {
    if (failure.code == "NoSuchKey") continue;  // already gone is what we wanted
    if (failures->empty()) *first_kind = kind_for(0, failure.code);
    failures->push_back(where(failure.key) + ": " + failure.code + ": " + failure.message);
  }
}

void S3Store::remove(const std::vector<std::string>& keys) {
  try {
    std::vector<std::string> failures;
    StoreErrorKind first_kind = StoreErrorKind::kProtocol;
    std::vector<std::string> batch;
    for (const auto& key : keys) {
      validate_key(key, "DELETE " + describe() + "/" + key);
      const std::string full = full_key(key);
      if (!s3xml::representable_in_xml(full)) {
        // Control characters cannot travel in the XML batch: delete this one directly.
        StoreStats::add(stats_->deletes);
        Op op;
        op.verb = "DELETE";
        op.method = "DELETE";
        op.full_key = full;
        op.ok_statuses = {200, 204, 404};
        execute(op);
        continue;
      }
      batch.push_back(full);
      if (batch.size() == kMaxDeleteBatch) {
        delete_batch(batch, &failures, &first_kind);
        batch.clear();
      }
    }
    if (!batch.empty()) delete_batch(batch, &failures, &first_kind);
    if (!failures.empty()) {
      std::string message = "DELETE " + describe() + ": " + std::to_string(failures.size()) +
                            " of " + std::to_string(keys.size()) + " keys were not deleted: ";
      for (size_t i = 0; i < failures.size() && i < 5; ++i) {
        message += (i ? "; " : "") + failures[i];
      }
      if (failures.size() > 5) message += "; and " + std::to_string(failures.size() - 5) + " more";
      throw StoreError(first_kind, message);
    }
  } catch (const StoreError&) {
    StoreStats::add(stats_->failures);
    throw;
  }
}

void S3Store::create_bucket() {
  Op op;
  op.verb = "CREATE BUCKET";
  op.method = "PUT";
  op.subject = "s3://" + bucket_;
  std::string body;
  if (region_ != "us-east-1") {
    body =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>" +
        region_ + "</LocationConstraint></CreateBucketConfiguration>";
    op.headers.emplace_back("content-type", "application/xml");
  }
  const MemoryBody request_body({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  op.body = &request_body;
  op.ok_statuses = {200};
  try {
    execute(op);
  } catch (const StoreError& e) {
    if (std::string(e.what()).find("BucketAlreadyOwnedByYou") == std::string::npos) throw;
  }
}

}  // namespace ltxvfs::storage
