// S3Store against a scripted local HTTP server: which answers are retried, how often, how the
// final error reads, and that no secret ever appears in it.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "mini_http_server.h"
#include "storage/s3/s3_store.h"
#include "store_error_of.h"
#include "test_util.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::error_of;
using ltxvfs::testing::MiniHttpServer;
using ltxvfs::testing::span_of;
using ltxvfs::testing::text;
using Reply = MiniHttpServer::Reply;

namespace {
constexpr const char* kSecret = "Sup3rS3cretValueThatMustNeverLeak";
constexpr const char* kToken = "SessionTokenThatMustNeverLeak";

StoreSettings fast_settings() {
  StoreSettings s;
  s.env = Env::from_map({});
  s.credentials = Credentials{"AKIDTEST", kSecret, kToken, "test"};
  s.retry.max_attempts = 4;
  s.retry.initial_backoff = std::chrono::milliseconds(5);
  s.retry.max_backoff = std::chrono::milliseconds(20);
  s.retry.max_total = std::chrono::milliseconds(10'000);
  s.http.connect_timeout_ms = 1000;
  s.log = [](std::string_view) {};
  return s;
}

S3Store store_at(const std::string& endpoint, const StoreSettings& settings = fast_settings()) {
  return S3Store(parse_replica_url("s3://bkt/pre?endpoint=" + endpoint), settings);
}

void check_no_secret(const std::string& message) {
  INFO(message);
  CHECK(message.find(kSecret) == std::string::npos);
  CHECK(message.find(kToken) == std::string::npos);
  CHECK(message.find("Signature=") == std::string::npos);
}

// A loopback port nobody listens on.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}
}  // namespace

TEST_CASE("s3 retries: 503 SlowDown and 500 are retried until success", "[retry]") {
  MiniHttpServer server(
      {MiniHttpServer::s3_error(503, "SlowDown", "Please reduce your request rate."),
       MiniHttpServer::s3_error(500, "InternalError", "oops"),
       Reply{200, "payload", {{"ETag", "\"e1\""}}}});
  auto store = store_at(server.endpoint());
  auto got = store.get("key");
  CHECK(text(got.body) == "payload");
  CHECK(got.etag == "\"e1\"");
  CHECK(server.request_count() == 3);
  auto stats = store.stats()->snapshot();
  CHECK(stats.requests == 3);
  CHECK(stats.retries == 2);
  CHECK(stats.gets == 1);
  CHECK(stats.failures == 0);
  CHECK(stats.bytes_received > 7);
}

TEST_CASE("s3 retries: other 4xx answers are final at once", "[retry]") {
  MiniHttpServer server({MiniHttpServer::s3_error(400, "InvalidArgument", "bad thing"),
                         Reply{200, "never reached", {}}});
  auto store = store_at(server.endpoint());
  auto e = error_of([&] { store.put("a/b.ltx", span_of("data")); });
  CHECK(e.kind() == StoreErrorKind::kInvalidArgument);
  CHECK(server.request_count() == 1);
  CHECK_THAT(std::string(e.what()),
             Catch::StartsWith("PUT s3://bkt/pre/a/b.ltx: 400 InvalidArgument: bad thing"));
  check_no_secret(e.what());
}

TEST_CASE("s3 retries: no 4xx but throttling is ever repeated", "[retry]") {
  const std::pair<int, StoreErrorKind> final_answers[] = {
      {400, StoreErrorKind::kInvalidArgument},    {403, StoreErrorKind::kAccessDenied},
      {404, StoreErrorKind::kNotFound},           {405, StoreErrorKind::kProtocol},
      {409, StoreErrorKind::kPreconditionFailed}, {412, StoreErrorKind::kPreconditionFailed},
      {416, StoreErrorKind::kInvalidRange}};
  for (const auto& [status, kind] : final_answers) {
    INFO("HTTP " << status);
    MiniHttpServer server({MiniHttpServer::s3_error(status, "SomeCode", "some message"),
                           Reply{200, "never reached", {}}});
    auto store = store_at(server.endpoint());
    CHECK(error_of([&] { store.get("k"); }).kind() == kind);
    CHECK(server.request_count() == 1);
  }
  // 429 Too Many Requests and S3's 400 RequestTimeout are throttling/transient: every AWS SDK
  // repeats them, and so do we.
  MiniHttpServer server({MiniHttpServer::s3_error(429, "TooManyRequests", "slow down"),
                         MiniHttpServer::s3_error(400, "RequestTimeout", "idle too long"),
                         Reply{200, "ok", {}}});
  auto store = store_at(server.endpoint());
  CHECK(text(store.get("k").body) == "ok");
  CHECK(server.request_count() == 3);
}

TEST_CASE("s3 retries: 403 SignatureDoesNotMatch says what to check", "[retry]") {
  MiniHttpServer server({MiniHttpServer::s3_error(
      403, "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided.")});
  auto store = store_at(server.endpoint());
  auto e = error_of([&] { store.get("k"); });
  CHECK(e.kind() == StoreErrorKind::kBadCredentials);
  CHECK(server.request_count() == 1);
  CHECK_THAT(std::string(e.what()),
             Catch::Contains("GET s3://bkt/pre/k: 403 SignatureDoesNotMatch"));
  CHECK_THAT(std::string(e.what()), Catch::Contains("check AWS_SECRET_ACCESS_KEY"));
  CHECK_THAT(std::string(e.what()), Catch::Contains("AKIDTEST"));
  check_no_secret(e.what());
}

TEST_CASE("s3 retries: persistent 5xx gives up after the attempt limit", "[retry]") {
  MiniHttpServer server(
      {MiniHttpServer::s3_error(503, "SlowDown", "Please reduce your request rate.")});
  auto store = store_at(server.endpoint());
  auto e = error_of([&] { store.head("k"); });
  CHECK(e.kind() == StoreErrorKind::kUnavailable);
  CHECK(e.retriable());
  CHECK(server.request_count() == 4);
  CHECK_THAT(std::string(e.what()),
             Catch::Contains("HEAD s3://bkt/pre/k: gave up after 4 attempts"));
  CHECK_THAT(std::string(e.what()), Catch::Contains("last cause: 503"));
  check_no_secret(e.what());
}

TEST_CASE("s3 retries: a connection closed mid-body is retried", "[retry]") {
  Reply cut{200, std::string(1000, 'x'), {}, MiniHttpServer::Mode::kCloseMidBody};
  MiniHttpServer server({cut, Reply{200, "whole", {}}});
  auto store = store_at(server.endpoint());
  CHECK(text(store.get("k").body) == "whole");
  CHECK(server.request_count() == 2);
}

TEST_CASE("s3 retries: a server that never answers times out and is retried", "[retry]") {
  Reply silent{200, "", {}, MiniHttpServer::Mode::kNoAnswer};
  MiniHttpServer server({silent, Reply{200, "late but fine", {}}});
  auto settings = fast_settings();
  settings.http.request_timeout_ms = 300;
  auto store = store_at(server.endpoint(), settings);
  CHECK(text(store.get("k").body) == "late but fine");
  CHECK(server.request_count() == 2);
}

TEST_CASE("s3 retries: an unreachable endpoint fails after bounded attempts and time", "[retry]") {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
  auto store = store_at(endpoint);
  const auto start = std::chrono::steady_clock::now();
  auto e = error_of([&] { store.list("0000/"); });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(e.kind() == StoreErrorKind::kUnavailable);
  CHECK(store.stats()->snapshot().requests == 4);
  CHECK(elapsed < std::chrono::seconds(2));
  const std::string message = e.what();
  CHECK_THAT(message, Catch::Contains("LIST s3://bkt/pre/0000/: gave up after 4 attempts"));
  CHECK_THAT(message, Catch::Contains("check that " + endpoint + " is reachable"));
  check_no_secret(message);

  // The total-time bound stops retrying even when attempts remain.
  auto slow = fast_settings();
  slow.retry.max_attempts = 100;
  slow.retry.initial_backoff = std::chrono::milliseconds(50);
  slow.retry.max_backoff = std::chrono::milliseconds(50);
  slow.retry.max_total = std::chrono::milliseconds(300);
  auto bounded = store_at(endpoint, slow);
  const auto start2 = std::chrono::steady_clock::now();
  CHECK(error_of([&] { bounded.get("k"); }).kind() == StoreErrorKind::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start2 < std::chrono::seconds(2));
  CHECK(bounded.stats()->snapshot().requests < 100);
}

TEST_CASE("s3 requests: what goes on the wire", "[retry]") {
  MiniHttpServer server({Reply{200, "", {{"ETag", "\"abc\""}}}});
  auto store = store_at(server.endpoint());
  PutOptions options;
  options.if_none_match = true;
  options.metadata = {{"litestream-timestamp", "2025-01-01T00:00:00Z"}};
  auto put = store.put("0000/a b+c.ltx", span_of("body"), options);
  CHECK(put.etag == "\"abc\"");
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.method == "PUT");
  CHECK(r.target == "/bkt/pre/0000/a%20b%2Bc.ltx");
  CHECK(r.body == "body");
  // An explicit type: some servers store a form-urlencoded body as an EMPTY object.
  CHECK(r.headers.at("content-type") == "application/octet-stream");
  CHECK(r.headers.at("if-none-match") == "*");
  CHECK(r.headers.at("x-amz-meta-litestream-timestamp") == "2025-01-01T00:00:00Z");
  CHECK(r.headers.at("x-amz-content-sha256") ==
        "230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5");  // sha256("body")
  CHECK(r.headers.at("x-amz-security-token") == kToken);
  CHECK(r.headers.at("host") == server.endpoint().substr(7));
  CHECK_THAT(r.headers.at("authorization"),
             Catch::StartsWith("AWS4-HMAC-SHA256 Credential=AKIDTEST/"));
  CHECK_THAT(r.headers.at("authorization"),
             Catch::Contains("SignedHeaders=content-type;host;if-none-match;"
                             "x-amz-content-sha256;x-amz-date;x-amz-meta-litestream-timestamp;"
                             "x-amz-security-token,"));
  CHECK(r.headers.count("expect") == 0);
}

TEST_CASE("s3 requests: DeleteObjects batches carry Content-MD5 and report failures", "[retry]") {
  const std::string result =
      "<DeleteResult><Error><Key>pre/b</Key><Code>AccessDenied</Code><Message>Access Denied"
      "</Message></Error><Error><Key>pre/c</Key><Code>NoSuchKey</Code><Message>gone</Message>"
      "</Error></DeleteResult>";
  MiniHttpServer server({Reply{200, result, {}}});
  auto store = store_at(server.endpoint());
  auto e = error_of([&] { store.remove({"a", "b", "c"}); });
  CHECK(e.kind() == StoreErrorKind::kAccessDenied);
  CHECK_THAT(std::string(e.what()), Catch::Contains("1 of 3 keys were not deleted"));
  CHECK_THAT(std::string(e.what()), Catch::Contains("s3://bkt/pre/b: AccessDenied: Access Denied"));
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/bkt?delete=");
  CHECK(requests[0].headers.count("content-md5") == 1);
  CHECK(requests[0].headers.at("content-type") == "application/xml");
  CHECK_THAT(requests[0].body, Catch::Contains("<Key>pre/a</Key>"));
}

TEST_CASE("s3 errors: HEAD and redirects explain themselves", "[retry]") {
  SECTION("403 on HEAD has no body") {
    MiniHttpServer server({Reply{403, "", {}}});
    auto store = store_at(server.endpoint());
    auto e = error_of([&] { store.head("k"); });
    CHECK(e.kind() == StoreErrorKind::kAccessDenied);
    CHECK_THAT(std::string(e.what()), Catch::Contains("HEAD s3://bkt/pre/k: 403 Forbidden"));
  }
  SECTION("301 PermanentRedirect names the bucket's region") {
    auto reply = MiniHttpServer::s3_error(301, "PermanentRedirect", "Use the right endpoint.");
    reply.headers.emplace_back("x-amz-bucket-region", "eu-west-1");
    MiniHttpServer server({reply});
    auto store = store_at(server.endpoint());
    auto e = error_of([&] { store.get("k"); });
    CHECK(e.kind() == StoreErrorKind::kInvalidArgument);
    CHECK_THAT(std::string(e.what()), Catch::Contains("add region=eu-west-1"));
  }
  SECTION("garbage listing is a protocol error") {
    MiniHttpServer server({Reply{200, "<html>hello</html>", {}}});
    auto store = store_at(server.endpoint());
    CHECK(error_of([&] { store.list(""); }).kind() == StoreErrorKind::kProtocol);
  }
}

TEST_CASE("s3 store: TLS verification is on unless explicitly disabled, and then logged",
          "[retry]") {
  auto settings = fast_settings();
  std::vector<std::string> logged;
  settings.log = [&](std::string_view m) { logged.emplace_back(m); };
  { auto store = store_at("https://127.0.0.1:1", settings); }
  CHECK(logged.empty());
  settings.http.insecure_skip_tls_verify = true;
  { auto store = store_at("https://127.0.0.1:1", settings); }
  REQUIRE(logged.size() == 1);
  CHECK_THAT(logged[0], Catch::Contains("TLS certificate and host name verification is DISABLED"));
}

TEST_CASE("s3 reads: a 206 answering other bytes than those asked fails the read", "[retry]") {
  auto partial = [](const std::string& body, const std::string& content_range) {
    return Reply{206, body, {{"Content-Range", content_range}}, MiniHttpServer::Mode::kNormal};
  };
  {  // what was asked: taken, with the object's size from the total
    MiniHttpServer server({partial("abcd", "bytes 4-7/20"), partial("wxyz", "bytes 16-19/20"),
                           partial("0123", "bytes 0-3/20")});
    auto store = store_at(server.endpoint());
    const auto got = store.get("k", ByteRange::at(4, 4));
    CHECK(std::string(got.body.begin(), got.body.end()) == "abcd");
    CHECK(got.object_size == 20);
    CHECK(store.get("k", ByteRange::last(4)).object_size == 20);
    // More than asked, truthfully labelled (s3rver answers bytes=0-0 so): cut to what was asked.
    const auto more = store.get("k", ByteRange::at(1, 2));
    CHECK(std::string(more.body.begin(), more.body.end()) == "12");
  }
  const std::vector<std::pair<Reply, std::optional<ByteRange>>> wrong = {
      {partial("abcd", "bytes 0-3/20"), ByteRange::at(4, 4)},   // other bytes
      {partial("abcd", "bytes 2-5/20"), ByteRange::at(4, 4)},   // only some of them
      {partial("abc", "bytes 4-7/20"), ByteRange::at(4, 4)},    // fewer than it says
      {partial("abcd", "bytes 12-15/20"), ByteRange::last(4)},  // not the object's end
      {partial("abcd", "bytes 0-3/20"), std::nullopt},          // a part for the whole
      {partial("abcd", "bytes 4-7"), ByteRange::at(4, 4)},      // no total
  };
  for (const auto& [reply, range] : wrong) {
    const std::string content_range = reply.headers.front().second;
    INFO(content_range);
    MiniHttpServer server({reply});
    auto store = store_at(server.endpoint());
    try {
      store.get("k", range);
      FAIL("a wrong 206 was taken");
    } catch (const StoreError& e) {
      CHECK(e.kind() == StoreErrorKind::kProtocol);
      CHECK_THAT(e.what(), Catch::Contains(content_range));
    }
  }
}

TEST_CASE("s3 reads: a streamed range is taken from a 206 or a 200, never from other bytes",
          "[retry]") {
  // get_streamed() passes bytes on before the answer is checked whole, so it must place them by
  // the answer's own headers: a 206's Content-Range, a 200's whole object.
  const auto streamed = [](S3Store& store, const ByteRange& range, std::string& got) {
    got.clear();
    return store.get_streamed("k", range,
                              [&](const std::string&, uint64_t at, std::span<const uint8_t> bytes) {
                                CHECK(at == got.size());
                                got.append(bytes.begin(), bytes.end());
                              });
  };
  const auto partial = [](const std::string& body, const std::string& content_range) {
    return Reply{206, body, {{"Content-Range", content_range}}, MiniHttpServer::Mode::kNormal};
  };
  std::string got;
  {
    MiniHttpServer server({partial("abcd", "bytes 4-7/20"), partial("0123", "bytes 0-3/20"),
                           Reply{200, "0123456789", {}}});
    auto store = store_at(server.endpoint());
    CHECK(streamed(store, ByteRange::at(4, 4), got).object_size == 20);
    CHECK(got == "abcd");
    streamed(store, ByteRange::at(1, 2), got);  // more than asked, truthfully labelled
    CHECK(got == "12");
    CHECK(streamed(store, ByteRange::at(2, 3), got).object_size == 10);  // Range ignored
    CHECK(got == "234");
  }
  // Other bytes than those asked: none passed on, and the read fails as get() does.
  MiniHttpServer server({partial("abcd", "bytes 0-3/20")});
  auto store = store_at(server.endpoint());
  CHECK(error_of([&] { streamed(store, ByteRange::at(4, 4), got); }).kind() ==
        StoreErrorKind::kProtocol);
  CHECK(got.empty());
}
