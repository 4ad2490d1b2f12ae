// S3Store: an ObjectStore over S3 or an S3-compatible server, signed with SigV4.
//
// Addressing: path-style (http://host/bucket/key) or virtual-hosted (http://bucket.host/key).
// Path-style is the default whenever an endpoint is configured (S3-compatible servers rarely have
// wildcard DNS) and for bucket names with dots (they break the TLS wildcard certificate).
//
// Configuration, first match wins:
//   endpoint     URL ?endpoint=  > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL >
//   https://s3.<region>.amazonaws.com region       URL ?region=    > AWS_REGION >
//   AWS_DEFAULT_REGION > us-east-1 path style   URL ?path_style= > (custom endpoint or dotted
//   bucket ? path : virtual-hosted) credentials  StoreSettings::credentials > environment > shared
//   credentials file (see
//                credentials.h); none found → StoreError(kBadCredentials) at construction
//   TLS CA file  StoreSettings::http.ca_bundle > AWS_CA_BUNDLE
//   proxy        StoreSettings::http.proxy > HTTPS_PROXY/HTTP_PROXY (per scheme), NO_PROXY
//
// Every request is retried per StoreSettings::retry (see retry_policy.h), except while the
// endpoint has stopped answering (see endpoint_health.h: one attempt at a time probes it, the
// others fail at once with kUnavailable); errors name the
// operation, the object, S3's status, code and message, and what to do next. Every call is
// bounded in time (see StoreSettings::silent_store_bound) and gives up at once when
// StoreSettings::cancel is cancelled (StoreError kCancelled).
//
// PUT bodies are streamed: a first pass over the body computes the payload SHA-256 (signed, and
// checked by S3 against what it receives), then the body is sent in chunks with its size as
// Content-Length. A retried attempt reads it again from the start. put() of bytes in memory takes
// the same path.
#pragma once

#include <memory>
#include <string>

#include "storage/cancellation.h"
#include "storage/object_store.h"
#include "storage/replica_url.h"
#include "storage/s3/endpoint_health.h"
#include "storage/s3/http_client.h"
#include "storage/s3/retry_policy.h"
#include "storage/s3/sigv4.h"
#include "storage/store_settings.h"
#include "storage/store_stats.h"

namespace ltxvfs::storage {

class S3Store : public ObjectStore {
 public:
  // `url` must be an s3:// URL (kind kS3). Throws StoreError (kInvalidArgument for a bad endpoint
  // from the environment, kBadCredentials when no credentials are found).
  S3Store(const ReplicaUrl& url, const StoreSettings& settings);
  ~S3Store() override;

  PutResult put(const std::string& key, std::span<const uint8_t> body,
                const PutOptions& options = {}) override;
  PutResult put_body(const std::string& key, const BodySource& body,
                     const PutOptions& options = {}) override;
  GetResult get(const std::string& key, std::optional<ByteRange> range = std::nullopt) override;
  // Hands the range's bytes over piece by piece as libcurl receives them, never held whole.
  GetResult get_streamed(const std::string& key, const ByteRange& range,
                         const Received& received) override;
  std::optional<GetResult> get_if_changed(const std::string& key, const std::string& etag) override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& prefix,
                               const std::string& start_after = "") override;
  void remove(const std::vector<std::string>& keys) override;
  std::string describe() const override;

  // Creates the bucket (tests and tools). Succeeds when it already exists and is ours.
  void create_bucket();

  const std::shared_ptr<StoreStats>& stats() const { return stats_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& region() const { return region_; }
  bool path_style() const { return path_style_; }

  // Where a request for `object_key` (a full key including the prefix; empty for the bucket)
  // goes: the URL without query, the Host header, and the path as signed.
  struct Target {
    std::string url;
    std::string host;
    std::string canonical_uri;
  };
  Target target_for(const std::string& object_key) const;

 private:
  struct Op;
  // A GET of `key` (counted, the key validated) answering with one of `ok_statuses`.
  Op get_op(const std::string& key, std::vector<long> ok_statuses);
  // get(); with `on_body`, a 2xx answer's body goes to it piece by piece instead of into the
  // result (HttpRequest::on_body), and is checked by its length.
  GetResult get_with(const std::string& key, std::optional<ByteRange> range,
                     const HttpRequest::BodyPieceFn* on_body);
  HttpResponse execute(const Op& op);
  // One attempt's request, signed now (SigV4 signatures carry the time).
  HttpRequest signed_request(const Op& op, const Target& target, const std::string& query,
                             const std::string& payload_hash) const;
  [[noreturn]] void throw_http_error(const Op& op, const HttpResponse& response) const;
  std::string where(const std::string& full_key) const;
  std::string full_key(const std::string& key) const;
  void delete_batch(const std::vector<std::string>& full_keys, std::vector<std::string>* failures,
                    StoreErrorKind* first_kind);

  std::string bucket_;
  std::string prefix_;  // "" or "a/b" (no slashes at the ends)
  std::string endpoint_;
  std::string scheme_;
  std::string endpoint_host_;  // host[:port]
  std::string region_;
  bool path_style_ = true;
  Credentials credentials_;
  int list_page_size_ = 1000;
  std::shared_ptr<StoreStats> stats_;
  std::unique_ptr<HttpClient> http_;
  RetryPolicy retry_;
  std::unique_ptr<base::Backoff> backoff_;  // retry_'s delays
  std::shared_ptr<Cancellation> cancel_;    // may be null
  std::shared_ptr<EndpointHealth> health_;  // shared with the process's other stores there
};

}  // namespace ltxvfs::storage
