// put_body streams: memory stays bounded however large the body (measured as the peak RSS of a
// child process), the object is exactly the body, conditional puts behave as put(), retries read
// the body again from the start, and a body that cannot be read fails without a retry.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "child_process.h"
#include "mini_http_server.h"
#include "storage/fault_injecting_store.h"
#include "storage/file_store.h"
#include "storage/s3/crypto.h"
#include "storage/s3/s3_store.h"
#include "storage/store_factory.h"
#include "store_error_of.h"
#include "test_util.h"
#include "tests/harness/s3_test_server.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::error_of;
using ltxvfs::testing::make_test_bucket;
using ltxvfs::testing::MiniHttpServer;
using ltxvfs::testing::proc_status_kib;
using ltxvfs::testing::reset_peak_rss;
using ltxvfs::testing::run_in_child;
using ltxvfs::testing::Server;
using ltxvfs::testing::span_of;
using ltxvfs::testing::TempDir;
using ltxvfs::testing::text;

namespace {

constexpr uint64_t kMiB = 1 << 20;
// The bound the brief sets for a 256 MiB body; the stores use about 1 MiB.
constexpr long kMaxGrowthKiB = 16 * 1024;

// A file of pseudo-random bytes (every chunk different, so an offset mistake changes the hash)
// and its SHA-256.
struct BodyFile {
  std::string path;
  uint64_t size = 0;
  std::string sha256;
};

BodyFile make_body_file(const std::string& path, uint64_t size, uint64_t seed = 42) {
  BodyFile f{path, size, ""};
  std::FILE* out = std::fopen(path.c_str(), "wb");
  REQUIRE(out != nullptr);
  crypto::Sha256Hasher hasher;
  std::vector<uint64_t> words(kMiB / 8);
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (uint64_t done = 0; done < size;) {
    for (auto& w : words) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      w = x;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kMiB, size - done));
    std::span<const uint8_t> chunk(reinterpret_cast<const uint8_t*>(words.data()), n);
    REQUIRE(std::fwrite(chunk.data(), 1, n, out) == n);
    hasher.update(chunk);
    done += n;
  }
  REQUIRE(std::fclose(out) == 0);
  f.sha256 = crypto::hex(hasher.finish());
  return f;
}

// SHA-256 of an object, read back in ranged GETs of `chunk` bytes.
std::string object_sha256(ObjectStore& store, const std::string& key, uint64_t size,
                          uint64_t chunk = 128 * kMiB) {
  crypto::Sha256Hasher hasher;
  for (uint64_t offset = 0; offset < size; offset += chunk) {
    const auto got = store.get(key, ByteRange::at(offset, chunk));
    REQUIRE(got.object_size == size);
    hasher.update(got.body);
  }
  return crypto::hex(hasher.finish());
}

// Puts `file` under `key` with put_body in a child process and returns how much the child's
// peak RSS grew meanwhile, in KiB. The store is opened in the child (no connection is shared
// with the test process).
long peak_growth_of_put(const std::function<std::unique_ptr<ObjectStore>()>& open,
                        const BodyFile& file, const std::string& key) {
  const std::string answer = run_in_child([&]() -> std::string {
    auto store = open();
    const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "cannot open " + file.path;
    FileRangeBody body(fd, 0, file.size, file.path);
    reset_peak_rss();
    const long before = proc_status_kib("VmHWM");
    if (before > proc_status_kib("VmRSS") + 1024) return "peak RSS was not reset";
    store->put_body(key, body);
    const long after = proc_status_kib("VmHWM");
    ::close(fd);
    return "growth " + std::to_string(after - before);
  });
  INFO(answer);
  REQUIRE(answer.rfind("growth ", 0) == 0);
  return std::stol(answer.substr(7));
}

// A store that keeps ObjectStore's default put_body (read the whole body, then put): the
// control that shows the measurement sees a body held in memory.
class BufferingStore : public ObjectStore {
 public:
  explicit BufferingStore(std::unique_ptr<ObjectStore> inner) : inner_(std::move(inner)) {}
  PutResult put(const std::string& key, std::span<const uint8_t> body,
                const PutOptions& options) override {
    return inner_->put(key, body, options);
  }
  GetResult get(const std::string& key, std::optional<ByteRange> range) override {
    return inner_->get(key, range);
  }
  std::optional<ObjectInfo> head(const std::string& key) override { return inner_->head(key); }
  std::vector<ObjectInfo> list(const std::string& prefix, const std::string& after) override {
    return inner_->list(prefix, after);
  }
  void remove(const std::vector<std::string>& keys) override { inner_->remove(keys); }
  std::string describe() const override { return inner_->describe(); }

 private:
  std::unique_ptr<ObjectStore> inner_;
};

// A body whose read_at fails from its `fail_at`-th call on (0-based).
class FailingBody final : public BodySource {
 public:
  FailingBody(uint64_t size, int fail_at) : size_(size), fail_at_(fail_at) {}
  uint64_t size() const override { return size_; }
  void read_at(uint64_t, std::span<uint8_t> out) const override {
    if (calls_++ >= fail_at_) {
      throw StoreError(StoreErrorKind::kIo, "cannot read " + describe() + ": disk on fire");
    }
    std::memset(out.data(), 'x', out.size());
  }
  std::string describe() const override { return "spool log test.ltxlog"; }

 private:
  uint64_t size_;
  int fail_at_;
  mutable int calls_ = 0;
};

// Conditional put_body behaves exactly as conditional put.
void check_conditional_put_body(ObjectStore& store, const std::string& dir) {
  const BodyFile a = make_body_file(dir + "/a.bin", 3000, 1);
  const BodyFile b = make_body_file(dir + "/b.bin", 5000, 2);
  const int fa = ::open(a.path.c_str(), O_RDONLY | O_CLOEXEC);
  const int fb = ::open(b.path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fa >= 0);
  REQUIRE(fb >= 0);
  FileRangeBody body_a(fa, 0, a.size, a.path);
  FileRangeBody body_b(fb, 0, b.size, b.path);

  PutOptions create;
  create.if_none_match = true;
  const auto first = store.put_body("cond/obj", body_a, create);
  CHECK(error_of([&] { store.put_body("cond/obj", body_b, create); }).kind() ==
        StoreErrorKind::kPreconditionFailed);
  CHECK(object_sha256(store, "cond/obj", a.size) == a.sha256);  // the loser changed nothing

  PutOptions stale;
  stale.if_match = "\"not-the-etag\"";
  CHECK(error_of([&] { store.put_body("cond/obj", body_b, stale); }).kind() ==
        StoreErrorKind::kPreconditionFailed);
  PutOptions current;
  current.if_match = first.etag;
  const auto second = store.put_body("cond/obj", body_b, current);
  CHECK(second.etag != first.etag);
  CHECK(object_sha256(store, "cond/obj", b.size) == b.sha256);
  // The same If-Match again is stale now.
  CHECK(error_of([&] { store.put_body("cond/obj", body_a, current); }).kind() ==
        StoreErrorKind::kPreconditionFailed);
  ::close(fa);
  ::close(fb);
}

}  // namespace

TEST_CASE("streaming put: 256 MiB to a file store in bounded memory", "[file][big]") {
  TempDir dir;
  const BodyFile file = make_body_file(dir.path() + "/body.bin", 256 * kMiB);
  const std::string root = dir.path() + "/replica";
  const long growth =
      peak_growth_of_put([&] { return std::make_unique<FileStore>(root); }, file, "ltx/9/big.ltx");
  INFO("peak RSS growth " << growth << " KiB");
  CHECK(growth < kMaxGrowthKiB);
  FileStore store(root);
  CHECK(store.head("ltx/9/big.ltx")->size == file.size);
  CHECK(object_sha256(store, "ltx/9/big.ltx", file.size) == file.sha256);
}

TEST_CASE("streaming put: 256 MiB to S3 (moto) in bounded memory", "[moto][big]") {
  auto server = make_test_bucket(Server::kMoto);
  TempDir dir;
  const BodyFile file = make_body_file(dir.path() + "/body.bin", 256 * kMiB);
  const long growth = peak_growth_of_put(
      [&] { return open_store(server.url("app"), server.settings).store; }, file, "0009/big.ltx");
  INFO("peak RSS growth " << growth << " KiB");
  CHECK(growth < kMaxGrowthKiB);
  auto opened = open_store(server.url("app"), server.settings);
  CHECK(opened.store->head("0009/big.ltx")->size == file.size);
  CHECK(object_sha256(*opened.store, "0009/big.ltx", file.size) == file.sha256);
}

TEST_CASE("streaming put: the measurement sees a body held in memory", "[file]") {
  // The control for the two tests above: the same measurement of ObjectStore's default
  // put_body, which reads the whole body first, shows the body; the fault-injecting wrapper
  // forwards to the inner store's streaming put_body and stays bounded.
  TempDir dir;
  const BodyFile file = make_body_file(dir.path() + "/body.bin", 64 * kMiB);
  const std::string root = dir.path() + "/replica";
  const long buffered = peak_growth_of_put(
      [&] { return std::make_unique<BufferingStore>(std::make_unique<FileStore>(root)); }, file,
      "buffered");
  CHECK(buffered > 60 * 1024);
  const long streamed = peak_growth_of_put(
      [&] { return std::make_unique<FaultInjectingStore>(std::make_unique<FileStore>(root)); },
      file, "streamed");
  INFO("buffered " << buffered << " KiB, streamed " << streamed << " KiB");
  CHECK(streamed < kMaxGrowthKiB);
  FileStore store(root);
  CHECK(object_sha256(store, "streamed", file.size) == file.sha256);
  CHECK(object_sha256(store, "buffered", file.size) == file.sha256);
}

TEST_CASE("streaming put: conditional put_body on a file store", "[file]") {
  TempDir dir;
  FileStore store(dir.path() + "/replica");
  check_conditional_put_body(store, dir.path());
}

TEST_CASE("streaming put: conditional put_body on S3 (moto)", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  auto opened = open_store(server.url("app"), server.settings);
  TempDir dir;
  check_conditional_put_body(*opened.store, dir.path());
}

TEST_CASE("streaming put: a range of a file, sent again from its start on a retry", "[retry]") {
  TempDir dir;
  const BodyFile file = make_body_file(dir.path() + "/log.bin", 1 * kMiB);
  std::string content(file.size, '\0');
  {
    std::FILE* in = std::fopen(file.path.c_str(), "rb");
    REQUIRE(std::fread(content.data(), 1, content.size(), in) == content.size());
    std::fclose(in);
  }
  // 300 KiB from the middle of the file: several of libcurl's 64 KiB upload chunks.
  const uint64_t offset = 123'457, length = 300 * 1024;
  const std::string expected = content.substr(offset, length);

  MiniHttpServer server(
      {MiniHttpServer::s3_error(503, "SlowDown", "Please reduce your request rate."),
       MiniHttpServer::Reply{200, "", {{"ETag", "\"e2\""}}}});
  StoreSettings settings;
  settings.env = Env::from_map({});
  settings.credentials = Credentials{"AKID", "secret", "", "test"};
  settings.retry.initial_backoff = std::chrono::milliseconds(1);
  settings.log = [](std::string_view) {};
  S3Store store(parse_replica_url("s3://bkt/pre?endpoint=" + server.endpoint()), settings);

  const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  FileRangeBody body(fd, offset, length, file.path);
  CHECK(store.put_body("0000/x.ltx", body).etag == "\"e2\"");
  ::close(fd);

  const auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  for (const auto& r : requests) {
    CHECK(r.method == "PUT");
    CHECK(r.headers.at("content-length") == std::to_string(length));
    CHECK(r.body == expected);  // the whole body both times, from its first byte
    CHECK(r.headers.at("x-amz-content-sha256") == crypto::sha256_hex(span_of(expected)));
  }
  CHECK(store.stats()->snapshot().bytes_sent == 2 * length);
}

TEST_CASE("streaming put: a body that cannot be read fails the put, unretried", "[retry]") {
  MiniHttpServer server({MiniHttpServer::Reply{200, "", {{"ETag", "\"e\""}}}});
  StoreSettings settings;
  settings.env = Env::from_map({});
  settings.credentials = Credentials{"AKID", "secret", "", "test"};
  settings.log = [](std::string_view) {};
  S3Store store(parse_replica_url("s3://bkt/pre?endpoint=" + server.endpoint()), settings);

  // Fails in the hashing pass: nothing is sent.
  FailingBody early(200'000, 0);
  auto e = error_of([&] { store.put_body("k", early); });
  CHECK(e.kind() == StoreErrorKind::kIo);
  CHECK_THAT(std::string(e.what()), Catch::Contains("spool log test.ltxlog: disk on fire"));
  CHECK(store.stats()->snapshot().requests == 0);

  // Fails while sending (the hash pass reads it once, the upload in 64 KiB chunks): the request
  // is abandoned and not repeated.
  FailingBody late(200'000, 2);
  CHECK(error_of([&] { store.put_body("k", late); }).kind() == StoreErrorKind::kIo);
  CHECK(store.stats()->snapshot().requests == 1);
  CHECK(store.stats()->snapshot().retries == 0);
  CHECK(server.request_count() == 0);  // the server never saw a complete request

  TempDir dir;
  FileStore files(dir.path());
  CHECK(error_of([&] { files.put_body("k", FailingBody(3 * kMiB, 1)); }).kind() ==
        StoreErrorKind::kIo);
  CHECK_FALSE(files.head("k").has_value());
  // No temporary file is left behind.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CHECK(entry.path().filename().string().rfind(".ltxvfs-tmp-", 0) != 0);
  }
}
