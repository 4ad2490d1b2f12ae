// Shared helpers for the ltx tests: deterministic page data, an independent byte-level LTX
// writer (RawFile) for crafting files the encoder refuses to produce, a model database that builds
// consistent chains, and an assertion for "throws LtxError of this kind".
#pragma once

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ltx/applier.h"
#include "ltx/encoder.h"
#include "ltx/error.h"
#include "ltx/header.h"
#include "ltx/page_codec.h"
#include "ltx/page_index.h"

namespace Catch {
template <>
struct StringMaker<ltxvfs::ltx::LtxErrorKind> {
  static std::string convert(ltxvfs::ltx::LtxErrorKind k) {
    return std::string(ltxvfs::ltx::to_string(k));
  }
};
}  // namespace Catch

namespace ltxtest {

using Bytes = std::vector<std::uint8_t>;
using ltxvfs::ltx::LtxErrorKind;

// Fails unless `expr` throws LtxError of kind `expected_kind`; the message is shown on failure.
#define REQUIRE_LTX_ERROR(expr, expected_kind)                                   \
  do {                                                                           \
    bool ltx_thrown_ = false;                                                    \
    try {                                                                        \
      (void)(expr);                                                              \
    } catch (const ::ltxvfs::ltx::LtxError& ltx_error_) {                        \
      ltx_thrown_ = true;                                                        \
      INFO("message: " << ltx_error_.what());                                    \
      REQUIRE(ltx_error_.kind() == (expected_kind));                             \
    }                                                                            \
    if (!ltx_thrown_) FAIL("expected LtxError(" #expected_kind ") from " #expr); \
  } while (false)

// The message of the LtxError `expr` throws (fails the test if it throws nothing).
#define LTX_ERROR_MESSAGE(expr, out)                    \
  do {                                                  \
    try {                                               \
      (void)(expr);                                     \
      FAIL("expected an LtxError from " #expr);         \
    } catch (const ::ltxvfs::ltx::LtxError& ltx_err_) { \
      out = ltx_err_.what();                            \
    }                                                   \
  } while (false)

Bytes random_page(std::uint32_t size, std::uint64_t seed);
// Page-like data: a short random header, a run of zeros, some repeated text (compresses well).
Bytes compressible_page(std::uint32_t size, std::uint64_t seed);
Bytes filled_page(std::uint32_t size, std::uint8_t value);

struct Page {
  std::uint32_t pgno;
  Bytes data;
  bool operator==(const Page&) const = default;
};

// Encodes a file with the library's Encoder into memory.
Bytes encode(const ltxvfs::ltx::Header& header, const std::vector<Page>& pages,
             const ltxvfs::ltx::EncodeOptions& options, std::uint64_t post_apply = 0);

// A header with sensible defaults for tests.
ltxvfs::ltx::Header make_header(std::uint32_t page_size, std::uint32_t commit,
                                std::uint64_t min_txid, std::uint64_t max_txid,
                                std::uint64_t pre_apply = 0);

// Decodes a whole file; returns its pages in order (throws like the decoder).
std::vector<Page> decode_pages(std::span<const std::uint8_t> file, const std::string& name = {});

// The error kind a full decode of `file` raises, or nullopt if it decodes cleanly.
std::optional<LtxErrorKind> decode_error(std::span<const std::uint8_t> file);

// An independent writer of the LTX byte layout (written from the spec, not via the Encoder):
// everything can be set to wrong values, and the file checksum is computed from what was written.
struct RawFile {
  struct Frame {
    std::uint32_t pgno;
    std::uint16_t flags;
    Bytes payload;       // as stored after the page header (size prefix included if any)
    Bytes decompressed;  // what the file checksum hashes
  };

  std::array<std::uint8_t, ltxvfs::ltx::kHeaderSize> header{};
  std::vector<Frame> frames;
  // Defaults to the index the frames imply; set to override.
  std::optional<std::vector<ltxvfs::ltx::PageIndexEntry>> index;
  std::uint64_t post_apply = 0;
  std::optional<std::uint64_t> file_checksum;  // defaults to the correct one

  // Adds `page` compressed with `encoding`; the stored page number and flags can be overridden.
  void add(std::uint32_t pgno, std::span<const std::uint8_t> page,
           ltxvfs::ltx::PageEncoding encoding);
  Bytes build() const;
};

// A model SQLite database: pages in a map, from which it writes consistent LTX chains.
class ModelDb {
 public:
  ModelDb(std::uint32_t page_size, ltxvfs::ltx::EncodeOptions options)
      : page_size_(page_size), options_(options) {}

  // Commits one transaction as one LTX file (TXID = previous + 1; the first is a snapshot).
  // `changes` sets pages; pages above `commit` are dropped. Every new page of a growing database
  // must be in `changes`.
  Bytes commit(const std::map<std::uint32_t, Bytes>& changes, std::uint32_t commit,
               std::int64_t timestamp_ms = 0);

  std::uint64_t txid() const { return txid_; }
  std::uint32_t commit_pages() const { return commit_; }
  // Later commits are encoded with `options` (a history written by more than one writer).
  void set_options(const ltxvfs::ltx::EncodeOptions& options) { options_ = options; }
  // The database checksum, computed from scratch over the model's pages.
  std::uint64_t checksum() const;
  // The database file: commit * page_size bytes, zeros where no page is (the lock page).
  Bytes image() const;

 private:
  std::uint32_t page_size_;
  ltxvfs::ltx::EncodeOptions options_;
  std::map<std::uint32_t, Bytes> pages_;
  std::uint32_t commit_ = 0;
  std::uint64_t txid_ = 0;
};

// A database image in memory, as an applier writes it: counts single-page writes (a run written
// page by page counts each) and runs of pages.
class MemoryPageWriter final : public ltxvfs::ltx::PageWriter {
 public:
  void write_page(std::uint32_t pgno, std::span<const std::uint8_t> page) override {
    const std::size_t offset = std::size_t{pgno - 1} * page.size();
    if (db.size() < offset + page.size()) db.resize(offset + page.size(), 0);
    std::copy(page.begin(), page.end(), db.begin() + static_cast<std::ptrdiff_t>(offset));
    ++writes;
  }
  void write_pages(std::uint32_t first, std::span<const std::uint8_t> pages,
                   std::uint32_t page_size) override {
    ++runs;
    PageWriter::write_pages(first, pages, page_size);
  }
  void truncate(std::uint32_t commit, std::uint32_t page_size) override {
    db.resize(std::size_t{commit} * page_size, 0);
  }
  Bytes db;
  int writes = 0;
  int runs = 0;
};

}  // namespace ltxtest
