// Header-only helper for Catch2 tests that talk to the "moto" or "s3rver" CTest fixture
// (tests/harness/fixtures.cmake). Each call to make_test_bucket() creates a bucket no other test
// uses, so tests can run in parallel (ctest -j).
//
//   auto server = ltxvfs::testing::make_test_bucket(ltxvfs::testing::Server::kMoto);
//   auto opened = ltxvfs::storage::open_store(server.url("app"), server.settings);
//
// When the fixture is not running the test FAILS (it does not skip): run it through ctest.
#pragma once

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "storage/replica_url.h"
#include "storage/s3/s3_store.h"
#include "storage/store_settings.h"

namespace ltxvfs::testing {

enum class Server { kMoto, kS3rver };

inline const char* server_name(Server server) {
  return server == Server::kMoto ? "moto" : "s3rver";
}

// "http://127.0.0.1:<port>" of the running fixture, or FAIL.
inline std::string test_server_endpoint(Server server) {
  const char* name = server_name(server);
  const char* dir = std::getenv("LTXVFS_TEST_SERVERS_DIR");
  if (dir == nullptr || *dir == '\0') {
    FAIL(name << " not running: run the tests through ctest (fixture " << name
              << "); LTXVFS_TEST_SERVERS_DIR is not set");
  }
  const std::string port_file = std::string(dir) + "/" + name + ".port";
  std::ifstream in(port_file);
  int port = 0;
  if (!(in >> port) || port <= 0) {
    FAIL(name << " not running: run the tests through ctest (fixture " << name << "); " << port_file
              << " is missing");
  }
  return "http://127.0.0.1:" + std::to_string(port);
}

// The credentials each server accepts. moto accepts anything; s3rver only its built-in pair.
inline storage::Credentials test_server_credentials(Server server) {
  if (server == Server::kS3rver) return {"S3RVER", "S3RVER", "", "s3rver test account"};
  return {"ltxvfs-test-key", "ltxvfs-test-secret", "", "moto test account"};
}

struct TestBucket {
  Server server = Server::kMoto;
  std::string endpoint;  // http://127.0.0.1:<port>
  std::string bucket;
  // Ready for open_store / S3Store: fixed credentials, an empty environment (the developer's
  // AWS_* variables must not leak in), quick retries.
  storage::StoreSettings settings;

  // "s3://<bucket>[/prefix]?endpoint=...&region=us-east-1"
  std::string url(const std::string& prefix = "") const {
    return "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix) + "?endpoint=" + endpoint +
           "&region=us-east-1";
  }
};

// A process-unique, test-unique bucket name: "ltxvfs-<pid>-<counter>-<random>".
inline std::string unique_bucket_name() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  return "ltxvfs-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(rd() % 1000000);
}

inline TestBucket make_test_bucket(Server server) {
  TestBucket t;
  t.server = server;
  t.endpoint = test_server_endpoint(server);
  t.bucket = unique_bucket_name();
  t.settings.env = storage::Env::from_map({});
  t.settings.credentials = test_server_credentials(server);
  t.settings.retry.max_attempts = 3;
  t.settings.retry.initial_backoff = std::chrono::milliseconds(20);
  t.settings.retry.max_backoff = std::chrono::milliseconds(200);
  t.settings.http.connect_timeout_ms = 2000;
  t.settings.http.request_timeout_ms = 30000;
  storage::S3Store creator(storage::parse_replica_url(t.url()), t.settings);
  creator.create_bucket();
  return t;
}

}  // namespace ltxvfs::testing
