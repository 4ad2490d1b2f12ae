#include "bench/support/s3_bucket.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "storage/replica_url.h"
#include "storage/s3/s3_store.h"
#include "storage/store_factory.h"

namespace ltxvfs::bench {

void use_benchmark_credentials() {
  ::setenv("AWS_ACCESS_KEY_ID", kAccessKey, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", kSecretKey, 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  ::unsetenv("AWS_PROFILE");
  ::setenv("AWS_REGION", "us-east-1", 1);
  // Loopback only: a proxy configured for the developer's network must not intercept.
  for (const char* v :
       {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}) {
    ::unsetenv(v);
  }
}

storage::StoreSettings S3Bucket::settings() {
  storage::StoreSettings s;
  s.env = storage::Env::from_map({});
  s.credentials = storage::Credentials{kAccessKey, kSecretKey, "", "benchmark"};
  s.create_if_missing = false;
  return s;
}

S3Bucket::S3Bucket(std::string server, std::string endpoint, const std::string& hint)
    : server_(std::move(server)), endpoint_(std::move(endpoint)) {
  static std::atomic<unsigned> counter{0};
  bucket_ = "bench-" + hint + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  storage::S3Store creator(storage::parse_replica_url(store_url("")), settings());
  creator.create_bucket();
}

std::string S3Bucket::uri_params(const std::string& prefix, const std::string& via) const {
  return "replica=s3://" + bucket_ + "/" + prefix + "&endpoint=" + (via.empty() ? endpoint_ : via) +
         "&region=us-east-1";
}

std::string S3Bucket::store_url(const std::string& prefix, const std::string& via) const {
  return "s3://" + bucket_ + (prefix.empty() ? "" : "/" + prefix) +
         "?endpoint=" + (via.empty() ? endpoint_ : via) + "&region=us-east-1";
}

storage::OpenedStore S3Bucket::open(const std::string& prefix, const std::string& via) const {
  return storage::open_store(store_url(prefix, via), settings());
}

void S3Bucket::clear(const std::string& prefix) const {
  auto store = open(prefix).store;
  std::vector<std::string> keys;
  for (const auto& obj : store->list("")) keys.push_back(obj.key);
  if (!keys.empty()) store->remove(keys);
}

uint16_t port_of(const std::string& endpoint) {
  return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

}  // namespace ltxvfs::bench
