// PageFeeder (vfs/writer/page_feeder.h): while someone waits for the builds, an LTX file's pages
// are compressed in runs on two threads. The file must be the one the encoder writes page by page.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "ltx/checksum.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/encryption_key.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "vfs/writer/page_feeder.h"

namespace {

using ltxvfs::ltx::EncodeOptions;
using ltxvfs::writer::PageFeeder;

constexpr uint32_t kPageSize = 4096;
constexpr uint32_t kPages = 700;  // 2.7 MiB: two full runs and part of a third

// Compressible pages that differ from each other.
std::vector<uint8_t> page_of(uint32_t pgno) {
  std::vector<uint8_t> page(kPageSize);
  uint64_t state = pgno * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < page.size(); ++i) {
    if (i % 64 == 0) state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    page[i] = static_cast<uint8_t>((state >> 40) % 16 + 'a');
  }
  return page;
}

struct Encoded {
  std::vector<uint8_t> bytes;
  uint64_t pages_in_runs = 0;
};

// A snapshot of kPages pages through a PageFeeder; `hurried_from`: the page from which someone
// waits (nullopt: nobody).
Encoded encode(const EncodeOptions& options, std::optional<uint32_t> hurried_from) {
  ltxvfs::ltx::Header h;
  h.page_size = kPageSize;
  h.commit = kPages;
  h.min_txid = 1;
  h.max_txid = 1;
  h.timestamp_ms = 1'700'000'000'000;
  ltxvfs::ltx::VectorSink sink;
  ltxvfs::ltx::PageCompressor own(options.encoding);
  std::unique_ptr<ltxvfs::ltx::PageCompressor> helper;
  ltxvfs::ltx::Encoder enc(sink, h, options, own);
  std::atomic<unsigned> hurried{0};
  PageFeeder feeder(enc, own, helper, ltxvfs::ltx::kDefaultZstdLevel, hurried);
  ltxvfs::ltx::DatabaseChecksum checksum;
  for (uint32_t pgno = 1; pgno <= kPages; ++pgno) {
    if (hurried_from && pgno == *hurried_from) hurried = 1;
    const auto page = page_of(pgno);
    checksum.toggle(pgno, page);
    feeder.add(pgno, page);
  }
  feeder.finish();
  enc.finish(options.checksums ? checksum.value() : 0);
  CHECK((helper != nullptr) == (feeder.pages_in_runs() > 1));  // made for a run, not before
  return {sink.take(), feeder.pages_in_runs()};
}

// Every page of `file`, decoded and verified (the file checksum included).
std::vector<std::vector<uint8_t>> decode(const std::vector<uint8_t>& file) {
  ltxvfs::ltx::MemorySource source(file);
  ltxvfs::ltx::Decoder decoder(source, "test");
  std::vector<std::vector<uint8_t>> pages;
  while (auto p = decoder.next()) pages.emplace_back(p->data.begin(), p->data.end());
  return pages;
}

}  // namespace

TEST_CASE("page feeder: pages compressed on two threads make the file written page by page",
          "[builder]") {
  for (const EncodeOptions& options : {EncodeOptions::native(), EncodeOptions::litestream()}) {
    INFO(to_string(options.encoding));
    const Encoded alone = encode(options, std::nullopt);
    CHECK(alone.pages_in_runs == 0);
    const Encoded hurried = encode(options, 1);
    CHECK(hurried.pages_in_runs == kPages);
    CHECK(hurried.bytes == alone.bytes);
    // Someone starts waiting in the middle of the file: the rest goes in runs.
    const Encoded later = encode(options, 301);
    CHECK(later.pages_in_runs == kPages - 300);
    CHECK(later.bytes == alone.bytes);
    const auto pages = decode(hurried.bytes);
    REQUIRE(pages.size() == kPages);
    for (uint32_t pgno = 1; pgno <= kPages; ++pgno) {
      if (pages[pgno - 1] != page_of(pgno)) FAIL("page " << pgno << " differs");
    }
  }
}

TEST_CASE("page feeder: an encrypted file's runs are sealed as page by page", "[builder]") {
  // Sealing draws a fresh nonce per frame, so the bytes differ; the pages must not.
  const auto key = ltxvfs::ltx::parse_key(std::string(64, '7'));
  ltxvfs::ltx::register_keys(ltxvfs::ltx::KeyRing{{key}});
  EncodeOptions options = EncodeOptions::of(ltxvfs::ltx::OutputFormat::kNative, key, 0x5eed);
  const Encoded hurried = encode(options, 1);
  CHECK(hurried.pages_in_runs == kPages);
  const auto pages = decode(hurried.bytes);
  REQUIRE(pages.size() == kPages);
  for (uint32_t pgno = 1; pgno <= kPages; ++pgno) {
    if (pages[pgno - 1] != page_of(pgno)) FAIL("page " << pgno << " differs");
  }
  CHECK(decode(encode(options, std::nullopt).bytes) == pages);
}
