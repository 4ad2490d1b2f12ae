// S3Store's construction (endpoint, region, addressing style, credentials, HTTP options from the
// URL, the settings and the environment), its addressing, and bucket creation. One request's
// signing, retries and errors are in s3_store_request.cpp; the calls in s3_store_get.cpp,
// s3_store_put.cpp, s3_store_list.cpp and s3_store_delete.cpp.
#include "storage/s3/s3_store.h"

#include <algorithm>
#include <cstdio>

#include "storage/s3/s3_store_op.h"
#include "storage/uri_encoding.h"

namespace ltxvfs::storage {
namespace {

void log_to_stderr(std::string_view message) {
  std::fprintf(stderr, "ltxvfs: %.*s\n", static_cast<int>(message.size()), message.data());
}

}  // namespace

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
  // The route, not the bucket: stores of every bucket and prefix there share what is learnt.
  health_ = EndpointHealth::of(endpoint_, http.proxy, settings.silent_endpoint);
  LogFn log = settings.log ? settings.log : LogFn(log_to_stderr);
  http_ = std::make_unique<HttpClient>(std::move(http), log);
  retry_ = settings.retry;
  backoff_ = make_backoff(retry_);
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
