// StreamedSource: a restore decodes a file while its bytes arrive. Readers wait for exactly the
// bytes they ask for, a retried answer's bytes are taken once, and whatever ends the download
// early (another object, more bytes than listed, the store's error, a short answer) reaches the
// reader waiting for the missing bytes.
#include <catch2/catch.hpp>

#include <numeric>
#include <stdexcept>
#include <thread>

#include "history/streamed_source.h"
#include "history_support.h"
#include "ltx/error.h"
#include "storage/file_store.h"

using namespace ltxvfs;
using history::StreamedSource;

namespace {

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), uint8_t{7});
  return v;
}

std::span<const uint8_t> part(const std::vector<uint8_t>& v, size_t at, size_t n) {
  return std::span(v).subspan(at, n);
}

// What reading [offset, offset + n) throws, as "kind: what" ("" when it reads).
std::string read_error(const StreamedSource& s, uint64_t offset, size_t n) {
  std::vector<uint8_t> out(n);
  try {
    s.read_at(offset, out);
    return "";
  } catch (const ltx::LtxError& e) {
    return std::string(ltx::to_string(e.kind())) + ": " + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
}

}  // namespace

TEST_CASE("streamed source: readers get the bytes as they arrive, a retry's bytes once",
          "[restorer]") {
  const auto bytes = pattern(1000);
  StreamedSource s("k", bytes.size());
  std::vector<uint8_t> head(100), tail(100);
  std::thread reader([&] {
    s.read_at(0, head);
    s.read_at(900, tail);  // waits for the last piece
  });
  s.take("e1", 0, part(bytes, 0, 300));
  // The store retried: from 0 again, in other pieces; only what lies past 300 is taken.
  s.take("e1", 0, part(bytes, 0, 200));
  s.take("e1", 200, part(bytes, 200, 500));
  s.take("e1", 700, part(bytes, 700, 300));
  s.end(nullptr);
  reader.join();
  CHECK(head == std::vector<uint8_t>(bytes.begin(), bytes.begin() + 100));
  CHECK(tail == std::vector<uint8_t>(bytes.end() - 100, bytes.end()));
  std::vector<uint8_t> all(1000);
  s.read_at(0, all);
  CHECK(all == bytes);
}

TEST_CASE("streamed source: what ends a download early reaches the reader of the missing bytes",
          "[restorer]") {
  const auto bytes = pattern(1000);
  SECTION("another etag") {
    StreamedSource s("obj", 1000);
    s.take("e1", 0, part(bytes, 0, 400));
    CHECK(read_error(s, 0, 400).empty());  // readable while the download goes on
    s.take("e2", 0, part(bytes, 0, 1000));
    // Then nothing more: the bytes in may be of another object.
    CHECK_THAT(read_error(s, 0, 400), Catch::Contains("another etag"));
    CHECK_THAT(read_error(s, 300, 200), Catch::Contains("another etag"));
  }
  SECTION("more bytes than listed") {
    StreamedSource s("obj", 500);
    s.take("e1", 0, part(bytes, 0, 1000));
    CHECK_THAT(read_error(s, 0, 10), Catch::Contains("more than the 500 bytes listed"));
  }
  SECTION("the store's error") {
    StreamedSource s("obj", 1000);
    s.take("e1", 0, part(bytes, 0, 100));
    s.end(std::make_exception_ptr(std::runtime_error("connection reset")));
    CHECK(read_error(s, 0, 100) == "other: connection reset");
    CHECK(read_error(s, 0, 101) == "other: connection reset");
  }
  SECTION("a short answer") {
    StreamedSource s("obj", 1000);
    s.take("e1", 0, part(bytes, 0, 600));
    s.end(nullptr);
    CHECK_THAT(read_error(s, 500, 200),
               Catch::StartsWith("truncated") && Catch::Contains("after 600 of its 1000 bytes"));
  }
}

TEST_CASE("streamed source: fetch() gets the object from a store and checks its size",
          "[restorer]") {
  const std::string dir = historytest::scratch_dir("streamed-source");
  storage::FileStore fs(dir + "/store");
  const auto bytes = pattern(5000);
  fs.put("a.ltx", bytes);
  StreamedSource good("a.ltx", 5000);
  good.fetch(fs);
  std::vector<uint8_t> all(5000);
  good.read_at(0, all);
  CHECK(all == bytes);
  // Listed smaller than it is: the object was replaced since the listing.
  StreamedSource replaced("a.ltx", 4000);
  replaced.fetch(fs);
  CHECK_THAT(read_error(replaced, 0, 4000), Catch::Contains("listed with 4000 bytes, now 5000"));
  CHECK_THAT(read_error(replaced, 0, 1), Catch::Contains("listed with 4000 bytes, now 5000"));
  StreamedSource gone("missing.ltx", 100);
  gone.fetch(fs);
  CHECK(read_error(gone, 0, 1).rfind("other: ", 0) == 0);
}
