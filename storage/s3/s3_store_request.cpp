// S3Store::execute: one logical request, signed with SigV4 and retried per the RetryPolicy within
// its time budget; and the errors it ends in, each naming the operation, S3's answer and what to
// do next.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "base/time_util.h"
#include "storage/s3/crypto.h"
#include "storage/s3/s3_store.h"
#include "storage/s3/s3_store_op.h"
#include "storage/s3/s3_xml.h"

namespace ltxvfs::storage {
namespace {

using Clock = std::chrono::steady_clock;

std::string seconds_text(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
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

}  // namespace

StoreErrorKind s3_error_kind(long status, const std::string& code) {
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

HttpRequest S3Store::signed_request(const Op& op, const Target& target, const std::string& query,
                                    const std::string& payload_hash) const {
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
  request.on_body = op.on_body;
  request.cancel = cancel_.get();
  return request;
}

HttpResponse S3Store::execute(const Op& op) {
  const RetryPolicy& policy = retry_;
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
    const HttpRequest request = signed_request(op, target, query, payload_hash);

    auto sent = health_->admit();
    if (!sent) {
      StoreStats::add(stats_->not_sent);
      throw StoreError(StoreErrorKind::kUnavailable,
                       subject + ": " + health_->refusal() +
                           (last_cause.empty() ? "" : "; last cause: " + last_cause) +
                           " — check that " + endpoint_ +
                           " is reachable (network, DNS, proxy) and healthy; requests resume by "
                           "themselves once it answers");
    }
    StoreStats::add(stats_->requests);
    if (attempt > 1) StoreStats::add(stats_->retries);
    try {
      HttpResponse response = http_->perform(request);
      sent->answered();
      StoreStats::add(stats_->bytes_sent, response.bytes_sent);
      StoreStats::add(stats_->bytes_received, response.body.size() + response.streamed);
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
      if (e.cancelled()) throw cancelled_error(subject);  // `sent` reports nothing
      if (e.timed_out()) {
        sent->timed_out();
      } else {
        sent->failed_fast();
      }
      last_cause = e.what();
    }

    if (attempt >= max_attempts) break;
    // Fallen silent (this attempt may have been the last straw): the next attempt is refused at
    // once, so no backoff sleep first.
    if (health_->silent()) continue;
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
  const StoreErrorKind kind = s3_error_kind(response.status, code);

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

}  // namespace ltxvfs::storage
