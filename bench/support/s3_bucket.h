// A bucket on a loopback S3-compatible server (moto or s3rver) for one figure, and the ways the
// benchmark names it: URI parameters for a database opened through `ltx`, and a store URL for
// the project's own storage code (restore, raw downloads, listings).
#pragma once

#include <memory>
#include <string>

#include "storage/object_store.h"
#include "storage/store_factory.h"
#include "storage/store_settings.h"

namespace ltxvfs::bench {

// The one credential pair both servers accept (s3rver checks signatures against it; moto accepts
// anything). The benchmark puts it into its own environment before loading the extension, so
// a developer's real AWS credentials are never sent anywhere.
constexpr const char* kAccessKey = "S3RVER";
constexpr const char* kSecretKey = "S3RVER";
void use_benchmark_credentials();

class S3Bucket {
 public:
  // Creates a fresh bucket on `endpoint` ("http://127.0.0.1:PORT"); `server` names it for output.
  S3Bucket(std::string server, std::string endpoint, const std::string& hint);

  const std::string& server() const { return server_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& name() const { return bucket_; }

  // "replica=s3://bucket/prefix&endpoint=...&region=us-east-1" for a database URI; `via` replaces
  // the endpoint (a latency-injecting proxy in front of the server).
  std::string uri_params(const std::string& prefix, const std::string& via = "") const;
  // "s3://bucket/prefix?endpoint=...&region=us-east-1".
  std::string store_url(const std::string& prefix, const std::string& via = "") const;
  // The store under `prefix`, for the benchmark's own requests (counted apart from ltx's, in
  // the returned stats).
  storage::OpenedStore open(const std::string& prefix, const std::string& via = "") const;
  // Deletes everything under `prefix` (moto keeps objects in RAM: runs must not pile up).
  void clear(const std::string& prefix) const;

  static storage::StoreSettings settings();

 private:
  std::string server_;
  std::string endpoint_;
  std::string bucket_;
};

// "http://127.0.0.1:<port>" -> port.
uint16_t port_of(const std::string& endpoint);

}  // namespace ltxvfs::bench
