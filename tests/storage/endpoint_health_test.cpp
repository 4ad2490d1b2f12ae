// EndpointHealth (storage/s3/endpoint_health.h): an endpoint that stopped answering costs one
// waiting request at a time, not one per store (issue 18), and requests resume once it answers.
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "mini_http_server.h"
#include "storage/s3/endpoint_health.h"
#include "storage/s3/s3_store.h"
#include "store_error_of.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::error_of;
using ltxvfs::testing::MiniHttpServer;
using Reply = MiniHttpServer::Reply;
using namespace std::chrono_literals;

namespace {

SilentEndpointPolicy policy(std::chrono::milliseconds silent_for,
                            std::chrono::milliseconds probe_every) {
  return {.timeouts = 2, .silent_for = silent_for, .probe_every = probe_every};
}

// One attempt reported as timed out.
void time_out(EndpointHealth& health) {
  auto attempt = health.admit();
  REQUIRE(attempt);
  attempt->timed_out();
}

}  // namespace

TEST_CASE("endpoint health: timeouts in a row with no answer make it silent, one probe at a time",
          "[endpoint-health]") {
  EndpointHealth health("http://silent.example", policy(0ms, 100ms));
  time_out(health);
  CHECK_FALSE(health.silent());
  time_out(health);
  REQUIRE(health.silent());
  CHECK_FALSE(health.admit());  // the first probe comes probe_every later
  std::this_thread::sleep_for(120ms);
  auto probe = health.admit();
  REQUIRE(probe);
  CHECK(probe->probe());
  CHECK_FALSE(health.admit());  // one probe at a time
  probe->timed_out();
  CHECK_FALSE(health.admit());  // and the next probe_every after it
  std::this_thread::sleep_for(120ms);
  {
    auto abandoned = health.admit();  // an attempt that ends without a report (an exception)
    REQUIRE(abandoned);
    CHECK(abandoned->probe());
  }
  auto answered = health.admit();  // gives its turn to the next attempt at once
  REQUIRE(answered);
  answered->answered();
  CHECK_FALSE(health.silent());
  auto normal = health.admit();
  REQUIRE(normal);
  CHECK_FALSE(normal->probe());
  CHECK(health.admit());  // any number side by side again
}

TEST_CASE(
    "endpoint health: fast failures, answers between timeouts and a recent answer keep it "
    "open",
    "[endpoint-health]") {
  EndpointHealth refusing("http://refusing.example", policy(0ms, 100ms));
  for (int i = 0; i < 5; ++i) refusing.admit()->failed_fast();  // refused connections
  CHECK_FALSE(refusing.silent());

  EndpointHealth flaky("http://flaky.example", policy(0ms, 100ms));
  for (int i = 0; i < 5; ++i) {
    time_out(flaky);
    flaky.admit()->answered();
  }
  CHECK_FALSE(flaky.silent());

  // Slow, not silent: short-capped attempts time out while answers came within silent_for.
  EndpointHealth slow("http://slow.example", policy(1h, 100ms));
  for (int i = 0; i < 5; ++i) time_out(slow);
  CHECK_FALSE(slow.silent());

  SilentEndpointPolicy never = policy(0ms, 100ms);
  never.timeouts = 0;
  EndpointHealth off("http://off.example", never);
  for (int i = 0; i < 5; ++i) time_out(off);
  CHECK_FALSE(off.silent());
}

TEST_CASE(
    "s3 store: a silent endpoint is sent one request at a time by all its stores, then "
    "answers again",
    "[endpoint-health]") {
  // Three requests get no answer, then every one is answered.
  const Reply silent{200, "", {}, MiniHttpServer::Mode::kNoAnswer};
  MiniHttpServer server({silent, silent, silent, Reply{200, "payload", {{"ETag", "\"e1\""}}}});
  StoreSettings settings;
  settings.env = Env::from_map({});
  settings.credentials = Credentials{"AKIDTEST", "secret", "", "test"};
  settings.log = [](std::string_view) {};
  settings.retry.max_attempts = 1;  // one attempt per call: the counts below are exact
  settings.http.request_timeout_ms = 300;
  settings.silent_endpoint = policy(0ms, 1s);
  // Five stores of five databases, one endpoint.
  std::vector<std::unique_ptr<S3Store>> stores;
  for (int i = 0; i < 5; ++i) {
    stores.push_back(std::make_unique<S3Store>(
        parse_replica_url("s3://bkt/db" + std::to_string(i) + "?endpoint=" + server.endpoint()),
        settings));
  }
  CHECK(error_of([&] { stores[0]->get("a"); }).kind() == StoreErrorKind::kUnavailable);
  CHECK(error_of([&] { stores[1]->get("a"); }).kind() == StoreErrorKind::kUnavailable);
  REQUIRE(server.request_count() == 2);

  // Silent now: every store's call fails at once, none reaches the server.
  for (int round = 0; round < 3; ++round) {
    for (auto& store : stores) {
      const StoreError e = error_of([&] { store->get("a"); });
      CHECK(e.kind() == StoreErrorKind::kUnavailable);
      CHECK_THAT(e.what(), Catch::Contains("not sent") && Catch::Contains(server.endpoint()));
    }
  }
  CHECK(server.request_count() == 2);
  uint64_t not_sent = 0;
  for (auto& store : stores) not_sent += store->stats()->snapshot().not_sent;
  CHECK(not_sent == 15);

  // After probe_every one call probes (and waits); the others still fail at once meanwhile.
  std::this_thread::sleep_for(1100ms);
  std::optional<StoreErrorKind> probe_error;  // Catch's assertions are for the test's thread
  std::thread probe([&] {
    try {
      stores[2]->get("a");
    } catch (const StoreError& e) {
      probe_error = e.kind();
    }
  });
  while (server.request_count() < 3) std::this_thread::sleep_for(5ms);
  CHECK_THAT(error_of([&] { stores[3]->get("a"); }).what(), Catch::Contains("not sent"));
  probe.join();
  CHECK(probe_error == StoreErrorKind::kUnavailable);
  CHECK(server.request_count() == 3);

  // The next probe is answered: every store sends again.
  std::this_thread::sleep_for(1100ms);
  CHECK(stores[4]->get("a").body.size() == 7);
  for (auto& store : stores) CHECK(store->get("a").body.size() == 7);
  CHECK(server.request_count() == 9);
}
