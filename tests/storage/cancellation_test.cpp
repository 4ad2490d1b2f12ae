// Cancellation: a store whose Cancellation is cancelled gives up at once — a transfer in flight
// to a silent server, a retry backoff, a slow file put — and every later call fails without
// touching the store. Closing a database relies on this to never wait for a failing store.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "mini_http_server.h"
#include "silent_server.h"
#include "storage/fault_injecting_store.h"
#include "storage/file_store.h"
#include "storage/s3/s3_store.h"
#include "storage/store_factory.h"
#include "test_util.h"
#include "tests/harness/s3_test_server.h"
#include "tests/support/tcp_proxy.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::make_test_bucket;
using ltxvfs::testing::MiniHttpServer;
using ltxvfs::testing::Server;
using ltxvfs::testing::SilentServer;
using ltxvfs::testing::span_of;
using ltxvfs::testing::TcpProxy;
using ltxvfs::testing::TcpProxyOptions;
using ltxvfs::testing::TempDir;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// How soon after cancel() a call must have returned.
constexpr milliseconds kCancelBound{300};

StoreSettings quick_settings(const std::shared_ptr<Cancellation>& cancel) {
  StoreSettings s;
  s.env = Env::from_map({});
  s.credentials = Credentials{"AKID", "secret", "", "test"};
  s.log = [](std::string_view) {};
  s.cancel = cancel;
  return s;
}

S3Store s3_at(const std::string& endpoint, const StoreSettings& settings) {
  return S3Store(parse_replica_url("s3://bkt/pre?endpoint=" + endpoint), settings);
}

// Runs `call`, cancelling `cancel` from another thread `delay` after it began. Returns the
// StoreError it threw (FAILs when none) and checks it came within kCancelBound of cancel().
StoreError cancelled_during(const std::shared_ptr<Cancellation>& cancel, milliseconds delay,
                            const std::function<void()>& call) {
  Clock::time_point cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(delay);
    cancelled_at = Clock::now();
    cancel->cancel();
  });
  std::optional<StoreError> error;
  try {
    call();
  } catch (const StoreError& e) {
    error = e;
  }
  const auto returned = Clock::now();
  canceller.join();
  REQUIRE(error.has_value());
  INFO(error->what());
  CHECK(error->kind() == StoreErrorKind::kCancelled);
  CHECK_FALSE(error->retriable());
  CHECK_THAT(std::string(error->what()),
             Catch::Contains("cancelled because the caller is closing"));
  // It returned because of cancel(), not before, and promptly.
  CHECK(returned >= cancelled_at);
  const auto late = std::chrono::duration_cast<milliseconds>(returned - cancelled_at);
  INFO("returned " << late.count() << " ms after cancel()");
  CHECK(late < kCancelBound);
  return *error;
}

// A body that takes `per_read` for each chunk it gives.
class SlowBody final : public BodySource {
 public:
  SlowBody(uint64_t size, milliseconds per_read) : size_(size), per_read_(per_read) {}
  uint64_t size() const override { return size_; }
  void read_at(uint64_t, std::span<uint8_t> out) const override {
    std::this_thread::sleep_for(per_read_);
    std::memset(out.data(), 's', out.size());
    ++reads_;
  }
  std::string describe() const override { return "a slow body"; }
  int reads() const { return reads_; }

 private:
  uint64_t size_;
  milliseconds per_read_;
  mutable std::atomic<int> reads_{0};
};

}  // namespace

TEST_CASE("cancellation: GET, PUT and LIST to a silent server end within 300 ms", "[cancel]") {
  SilentServer server;
  const std::string payload(256 * 1024, 'p');
  const std::vector<std::pair<const char*, std::function<void(S3Store&)>>> calls = {
      {"GET", [](S3Store& s) { s.get("0000/a.ltx"); }},
      {"PUT", [&](S3Store& s) { s.put("0000/a.ltx", span_of(payload)); }},
      {"LIST", [](S3Store& s) { s.list("0000/"); }},
      {"HEAD", [](S3Store& s) { s.head("0000/a.ltx"); }},
      {"DELETE", [](S3Store& s) { s.remove({"0000/a.ltx"}); }}};
  for (const auto& [verb, call] : calls) {
    INFO(verb);
    auto cancel = std::make_shared<Cancellation>();
    auto store = s3_at(server.endpoint(), quick_settings(cancel));
    const size_t connections_before = server.connections();
    auto e = cancelled_during(cancel, milliseconds(150), [&, &call = call] { call(store); });
    CHECK_THAT(std::string(e.what()), Catch::StartsWith(std::string(verb) + " s3://bkt/pre"));
    CHECK(server.connections() == connections_before + 1);  // it was in flight
  }
}

TEST_CASE("cancellation: an upload stuck in send() ends within 300 ms", "[cancel]") {
  // The server accepts and never reads: the socket buffers fill and the upload stalls.
  SilentServer server(/*read_requests=*/false);
  auto cancel = std::make_shared<Cancellation>();
  auto store = s3_at(server.endpoint(), quick_settings(cancel));
  const std::vector<uint8_t> big(32u << 20, 0x5a);
  cancelled_during(cancel, milliseconds(300), [&] { store.put("big.ltx", big); });
}

TEST_CASE("cancellation: a retry backoff wakes at once", "[cancel]") {
  MiniHttpServer server({MiniHttpServer::s3_error(503, "SlowDown", "Please reduce.")});
  auto cancel = std::make_shared<Cancellation>();
  auto settings = quick_settings(cancel);
  settings.retry.max_attempts = 100;
  settings.retry.initial_backoff = milliseconds(5000);
  settings.retry.max_backoff = milliseconds(5000);
  settings.retry.max_total = milliseconds(60'000);
  auto store = s3_at(server.endpoint(), settings);
  const auto start = Clock::now();
  cancelled_during(cancel, milliseconds(400), [&] { store.get("k"); });
  CHECK(server.request_count() >= 1);
  CHECK(Clock::now() - start < milliseconds(400) + kCancelBound);
}

TEST_CASE("cancellation: a cancelled store sends nothing more", "[cancel]") {
  MiniHttpServer server({MiniHttpServer::Reply{200, "", {{"ETag", "\"e\""}}}});
  auto cancel = std::make_shared<Cancellation>();
  auto store = s3_at(server.endpoint(), quick_settings(cancel));
  store.put("k", span_of("before"));
  REQUIRE(server.request_count() == 1);
  cancel->cancel();
  cancel->cancel();  // idempotent
  auto kind = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const StoreError& e) {
      return e.kind();
    }
    return StoreErrorKind::kProtocol;
  };
  CHECK(kind([&] { store.put("k", span_of("after")); }) == StoreErrorKind::kCancelled);
  CHECK(kind([&] { store.get("k"); }) == StoreErrorKind::kCancelled);
  CHECK(kind([&] { store.head("k"); }) == StoreErrorKind::kCancelled);
  CHECK(kind([&] { store.list(""); }) == StoreErrorKind::kCancelled);
  CHECK(kind([&] { store.remove({"k"}); }) == StoreErrorKind::kCancelled);
  CHECK(server.request_count() == 1);

  TempDir dir;
  auto file_cancel = std::make_shared<Cancellation>();
  FileStoreOptions options;
  options.cancel = file_cancel;
  FileStore files(dir.path(), options);
  files.put("k", span_of("before"));
  file_cancel->cancel();
  CHECK(kind([&] { files.put("k", span_of("after")); }) == StoreErrorKind::kCancelled);
  CHECK(kind([&] { files.get("k"); }) == StoreErrorKind::kCancelled);
  CHECK(kind([&] { files.head("k"); }) == StoreErrorKind::kCancelled);
  CHECK(kind([&] { files.list(""); }) == StoreErrorKind::kCancelled);
  CHECK(kind([&] { files.remove({"k"}); }) == StoreErrorKind::kCancelled);
  CHECK(FileStore(dir.path()).get("k").body == ltxvfs::testing::bytes("before"));
}

TEST_CASE("cancellation: a file store stops between chunks of a large put", "[cancel]") {
  TempDir dir;
  auto cancel = std::make_shared<Cancellation>();
  FileStoreOptions options;
  options.cancel = cancel;
  FileStore store(dir.path(), options);
  // 64 chunks of 1 MiB at 20 ms each: 1.3 s if nothing stopped it.
  SlowBody body(64u << 20, milliseconds(20));
  cancelled_during(cancel, milliseconds(150), [&] { store.put_body("ltx/9/big.ltx", body); });
  CHECK(body.reads() < 64);
  // Nothing was published and no temporary file is left.
  CHECK_FALSE(FileStore(dir.path()).head("ltx/9/big.ltx").has_value());
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    CHECK(entry.path().filename().string().rfind(".ltxvfs-tmp-", 0) != 0);
  }
}

TEST_CASE("cancellation: the fault-injecting store's latency wakes at once", "[cancel]") {
  TempDir dir;
  FaultInjectingStore store(std::make_unique<FileStore>(dir.path()));
  auto cancel = std::make_shared<Cancellation>();
  store.set_cancellation(cancel);
  store.set_latency(std::chrono::seconds(10));
  cancelled_during(cancel, milliseconds(100), [&] { store.put("k", span_of("x")); });
  CHECK_FALSE(store.inner().head("k").has_value());
}

TEST_CASE("cancellation: Cancellation::sleep_for", "[cancel]") {
  Cancellation c;
  const auto start = Clock::now();
  CHECK(c.sleep_for(milliseconds(30)));
  CHECK(Clock::now() - start >= milliseconds(30));
  std::thread t([&] {
    std::this_thread::sleep_for(milliseconds(50));
    c.cancel();
  });
  const auto start2 = Clock::now();
  CHECK_FALSE(c.sleep_for(std::chrono::seconds(10)));
  CHECK(Clock::now() - start2 < std::chrono::seconds(2));
  t.join();
  CHECK(c.cancelled());
  CHECK_FALSE(c.sleep_for(std::chrono::seconds(10)));  // already cancelled: no sleep at all
}

TEST_CASE("cancellation: GET, PUT and LIST in flight to S3 (moto) end within 300 ms",
          "[moto][cancel]") {
  auto server = make_test_bucket(Server::kMoto);
  const int moto_port = std::stoi(server.endpoint.substr(server.endpoint.rfind(':') + 1));
  // Every request waits 3 s in the proxy before moto sees it: a slow store, in flight.
  TcpProxyOptions slow;
  slow.request_latency = std::chrono::seconds(3);
  TcpProxy proxy(static_cast<uint16_t>(moto_port), slow);
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(proxy.port());
  const std::string url = "s3://" + server.bucket + "/app?endpoint=" + endpoint;
  {
    auto direct = open_store(server.url("app"), server.settings);
    direct.store->put("0000/existing.ltx", span_of("here"));
  }
  const std::string payload(4u << 20, 'm');
  const std::vector<std::pair<const char*, std::function<void(ObjectStore&)>>> calls = {
      {"GET", [](ObjectStore& s) { s.get("0000/existing.ltx"); }},
      {"PUT", [&](ObjectStore& s) { s.put("0000/new.ltx", span_of(payload)); }},
      {"LIST", [](ObjectStore& s) { s.list("0000/"); }}};
  for (const auto& [verb, call] : calls) {
    INFO(verb);
    auto settings = server.settings;
    settings.cancel = std::make_shared<Cancellation>();
    auto opened = open_store(url, settings);
    const auto start = Clock::now();
    cancelled_during(settings.cancel, milliseconds(200),
                     [&, &call = call] { call(*opened.store); });
    CHECK(Clock::now() - start < std::chrono::seconds(1));  // not the proxy's 3 s
  }
  // The store itself is fine: without cancellation the same calls go through (slowly).
  auto opened = open_store(url, server.settings);
  CHECK(opened.store->get("0000/existing.ltx").body == ltxvfs::testing::bytes("here"));
}
