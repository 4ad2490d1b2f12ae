// Compaction that copies frames through: a page whose stored encoding is already the output's is
// copied as stored instead of being compressed again. These tests check that copying changes
// nothing a reader can see (same pages, same checksums), that it really copies (the stored bytes
// of foreign frames survive verbatim), and that every input is still fully verified.
#include <lz4frame.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>

#include "ltx/applier.h"
#include "ltx/compactor.h"
#include "ltx/decoder.h"
#include "ltx/file_name.h"
#include "ltx/page_frame.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;
using ltxtest::MemoryPageWriter;
using ltxtest::ModelDb;

namespace {

// Files kept alive together with the sources that read them (a deque: elements never move).
struct Files {
  std::deque<Bytes> bytes;
  std::vector<std::unique_ptr<MemorySource>> sources;
  std::vector<std::string> names;

  void add(Bytes file, std::string name) {
    bytes.push_back(std::move(file));
    sources.push_back(std::make_unique<MemorySource>(bytes.back()));
    names.push_back(std::move(name));
  }
  std::vector<NamedSource> named(std::size_t from, std::size_t to) const {
    std::vector<NamedSource> out;
    for (std::size_t i = from; i < to; ++i) out.push_back({sources[i].get(), names[i]});
    return out;
  }
  std::vector<NamedSource> all() const { return named(0, bytes.size()); }
};

// A history of `n` transactions over a growing and shrinking database, every file encoded with
// `options_for(txid)`.
template <typename OptionsFor>
Files make_history(ModelDb& db, std::uint32_t page_size, int n, OptionsFor options_for) {
  Files f;
  auto pg = [&](std::uint64_t seed) { return ltxtest::compressible_page(page_size, seed); };
  for (int t = 1; t <= n; ++t) {
    db.set_options(options_for(static_cast<std::uint64_t>(t)));
    std::map<std::uint32_t, Bytes> changes;
    std::uint32_t commit = db.commit_pages();
    if (t == 1) {
      commit = 6;
      for (std::uint32_t p = 1; p <= commit; ++p) changes[p] = pg(p);
    } else if (t % 5 == 0) {
      commit = commit + 2;  // grows: carries the new pages
      for (std::uint32_t p = db.commit_pages() + 1; p <= commit; ++p) changes[p] = pg(t * 100 + p);
      changes[1] = pg(t * 100 + 1);
    } else if (t % 7 == 0 && commit > 4) {
      commit -= 1;  // shrinks
      changes[2] = pg(t * 100 + 2);
    } else {
      changes[1] = pg(t * 100 + 1);
      changes[static_cast<std::uint32_t>(t % commit) + 1] = pg(t * 100 + 50);
    }
    f.add(db.commit(changes, commit, 1000 * t), format_ltx_name(db.txid(), db.txid()));
  }
  return f;
}

Bytes compact_bytes(std::span<const NamedSource> inputs, const EncodeOptions& options,
                    bool copy_frames, CompactResult* result = nullptr) {
  VectorSink out;
  CompactOptions co;
  co.copy_frames = copy_frames;
  const CompactResult r = compact(inputs, out, options, "out.ltx", co);
  if (result != nullptr) *result = r;
  return out.take();
}

// The stored frames of a file: pgno -> (flags, payload bytes).
std::map<std::uint32_t, std::pair<std::uint16_t, Bytes>> stored_frames(const Bytes& file) {
  MemorySource src(file);
  const FileSummary s = verify_file(src, "frames");
  std::map<std::uint32_t, std::pair<std::uint16_t, Bytes>> out;
  for (const auto& e : s.index.entries) {
    const auto frame = std::span(file).subspan(e.offset, e.size);
    const PageHeader h = PageHeader::decode(frame.first<kPageHeaderSize>());
    out[e.pgno] = {h.flags, Bytes(frame.begin() + kPageHeaderSize, frame.end())};
  }
  return out;
}

// An LZ4 frame as another writer might make it: high compression, block checksums on. Valid for
// every LZ4 frame reader, but not what this library's compressor writes.
Bytes foreign_lz4_frame(std::span<const std::uint8_t> page) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  prefs.compressionLevel = 12;
  Bytes out(LZ4F_compressFrameBound(page.size(), &prefs));
  const std::size_t n =
      LZ4F_compressFrame(out.data(), out.size(), page.data(), page.size(), &prefs);
  REQUIRE_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

}  // namespace

TEST_CASE("compactor: copied frames give exactly the re-encoded output", "[compactor]") {
  // Our own encoder is deterministic, so for files it wrote copying a frame and compressing the
  // page again must produce the same bytes: the whole output is byte-identical.
  const EncodeOptions lz4_block{PageEncoding::kLz4Block, false, kDefaultZstdLevel, nullptr};
  for (const auto& opts : {EncodeOptions::native(), EncodeOptions::litestream(), lz4_block}) {
    INFO(to_string(opts.encoding));
    ModelDb db(1024, opts);
    const Files f = make_history(db, 1024, 30, [&](std::uint64_t) { return opts; });
    for (auto [from, to] : {std::pair<std::size_t, std::size_t>{0, 30}, {1, 30}, {10, 11}}) {
      const auto inputs = f.named(from, to);
      CompactResult copied, reencoded;
      const Bytes a = compact_bytes(inputs, opts, true, &copied);
      const Bytes b = compact_bytes(inputs, opts, false, &reencoded);
      REQUIRE(a == b);
      REQUIRE(copied.pages_reencoded == 0);
      REQUIRE(copied.pages_copied > 0);
      REQUIRE(reencoded.pages_copied == 0);
      REQUIRE(reencoded.pages_reencoded == copied.pages_copied);
      REQUIRE(copied.header == reencoded.header);
      REQUIRE(copied.trailer == reencoded.trailer);
    }
    // And the compacted history restores the model database.
    const Bytes all = compact_bytes(f.all(), opts, true);
    MemorySource src(all);
    MemoryPageWriter w;
    ChainApplier applier(w);
    applier.apply(src, "all.ltx");
    REQUIRE(w.db == db.image());
    REQUIRE(applier.state().checksum == db.checksum());
  }
}

TEST_CASE("compactor: thousands of inputs merge into the model database", "[compactor]") {
  ModelDb db(512, EncodeOptions::native());
  const Files f =
      make_history(db, 512, 2500, [](std::uint64_t) { return EncodeOptions::native(); });
  CompactResult r;
  const Bytes all = compact_bytes(f.all(), EncodeOptions::native(), true, &r);
  REQUIRE(r.header.max_txid == 2500);
  MemorySource src(all);
  MemoryPageWriter w;
  ChainApplier applier(w);
  applier.apply(src, "all.ltx");
  REQUIRE(w.db == db.image());
  REQUIRE(applier.state().checksum == db.checksum());
}

TEST_CASE("compactor: foreign LZ4 frames are copied verbatim", "[compactor]") {
  // Litestream's Go LZ4 writer does not produce the bytes liblz4 does. Copied frames keep the
  // writer's bytes; re-encoding would replace them. Both decode to the same pages.
  const std::uint32_t ps = 4096;
  std::map<std::uint32_t, Bytes> model;
  Files f;
  for (std::uint64_t txid = 1; txid <= 4; ++txid) {
    ltxtest::RawFile raw;
    Header h = ltxtest::make_header(ps, 3, txid == 1 ? 1 : txid, txid);
    h.flags = kHeaderFlagNoChecksum;
    raw.header = h.encode();
    const std::vector<std::uint32_t> pages =
        txid == 1 ? std::vector<std::uint32_t>{1, 2, 3}
                  : std::vector<std::uint32_t>{static_cast<std::uint32_t>(txid - 1)};
    for (std::uint32_t pgno : pages) {
      const Bytes page = ltxtest::compressible_page(ps, txid * 10 + pgno);
      raw.frames.push_back({pgno, 0, foreign_lz4_frame(page), page});
      model[pgno] = page;
    }
    f.add(raw.build(), format_ltx_name(txid, txid));
  }
  CompactResult r;
  const Bytes copied = compact_bytes(f.all(), EncodeOptions::litestream(), true, &r);
  const Bytes reencoded = compact_bytes(f.all(), EncodeOptions::litestream(), false);
  REQUIRE(r.pages_copied == 3);
  REQUIRE(r.pages_reencoded == 0);
  REQUIRE(copied != reencoded);  // the stored bytes differ ...
  REQUIRE(ltxtest::decode_pages(copied) == ltxtest::decode_pages(reencoded));  // ... the pages not
  for (const auto& p : ltxtest::decode_pages(copied)) REQUIRE(p.data == model.at(p.pgno));

  // Each output frame is the newest input's frame, byte for byte.
  const auto out = stored_frames(copied);
  std::map<std::uint32_t, Bytes> newest;
  for (const auto& file : f.bytes) {
    for (const auto& [pgno, frame] : stored_frames(file)) newest[pgno] = frame.second;
  }
  REQUIRE(out.size() == 3);
  for (const auto& [pgno, frame] : out) {
    REQUIRE(frame.first == 0);
    REQUIRE(frame.second == newest.at(pgno));
  }
}

TEST_CASE("compactor: mixed encodings copy what matches and re-encode the rest", "[compactor]") {
  // One history written by three writers: LZ4 frames (Litestream <= 0.5.15), LZ4 blocks
  // (Litestream >= 0.5.16) and zstd without checksums.
  const EncodeOptions frame = EncodeOptions::litestream();
  const EncodeOptions block{PageEncoding::kLz4Block, false, kDefaultZstdLevel, nullptr};
  const EncodeOptions zstd{PageEncoding::kZstd, false, kDefaultZstdLevel, nullptr};
  ModelDb db(512, frame);
  const Files f = make_history(db, 512, 24, [&](std::uint64_t txid) {
    return txid % 3 == 0 ? frame : txid % 3 == 1 ? block : zstd;
  });
  for (const auto& out_opts : {frame, block, zstd}) {
    INFO("output " << to_string(out_opts.encoding));
    CompactResult r;
    const Bytes out = compact_bytes(f.all(), out_opts, true, &r);
    REQUIRE(r.pages_copied > 0);
    REQUIRE(r.pages_reencoded > 0);
    // Every output frame is in the output encoding, whatever the input's was.
    const auto frames = stored_frames(out);
    REQUIRE(frames.size() == r.pages_copied + r.pages_reencoded);
    for (const auto& [pgno, fr] : frames) {
      REQUIRE(fr.first == static_cast<std::uint16_t>(out_opts.encoding));
    }
    MemorySource src(out);
    MemoryPageWriter w;
    ChainApplier applier(w);
    applier.apply(src, "out.ltx");
    REQUIRE(w.db == db.image());
    // Litestream-compatible output keeps flags exactly 0x2.
    if (out_opts.encoding != PageEncoding::kZstd) REQUIRE(r.header.flags == kHeaderFlagNoChecksum);
  }
}

TEST_CASE("compactor: copied frames keep the input's zstd level", "[compactor]") {
  EncodeOptions strong = EncodeOptions::native();
  strong.zstd_level = 19;
  ModelDb db(4096, strong);
  const Files f = make_history(db, 4096, 12, [&](std::uint64_t) { return strong; });
  CompactResult copied_r, reencoded_r;
  const Bytes copied = compact_bytes(f.all(), EncodeOptions::native(), true, &copied_r);
  const Bytes reencoded = compact_bytes(f.all(), EncodeOptions::native(), false, &reencoded_r);
  REQUIRE(ltxtest::decode_pages(copied) == ltxtest::decode_pages(reencoded));
  REQUIRE(copied_r.header == reencoded_r.header);
  // Same database after either; the size prefixes differ, so the file checksums do too.
  REQUIRE(copied_r.trailer.post_apply_checksum == reencoded_r.trailer.post_apply_checksum);
  const auto a = stored_frames(copied);
  std::map<std::uint32_t, Bytes> newest;
  for (const auto& file : f.bytes) {
    for (const auto& [pgno, frame] : stored_frames(file)) newest[pgno] = frame.second;
  }
  for (const auto& [pgno, frame] : a) REQUIRE(frame.second == newest.at(pgno));
}

TEST_CASE("compactor: a corrupt frame is caught even when it would be copied", "[compactor]") {
  ModelDb db(1024, EncodeOptions::native());
  Files f = make_history(db, 1024, 3, [](std::uint64_t) { return EncodeOptions::native(); });
  // Flip the last byte of the last frame's payload of file 2 (its zstd content checksum).
  MemorySource src(f.bytes[1]);
  const FileSummary s = verify_file(src);
  const auto& last = s.index.entries.back();
  Bytes corrupt = f.bytes[1];
  corrupt[last.offset + last.size - 1] ^= 0x40;
  MemorySource bad(corrupt);
  const std::vector<NamedSource> inputs = {
      {f.sources[0].get(), f.names[0]}, {&bad, f.names[1]}, {f.sources[2].get(), f.names[2]}};
  VectorSink out;
  std::string msg;
  LTX_ERROR_MESSAGE(compact(inputs, out, EncodeOptions::native()), msg);
  REQUIRE_THAT(msg, Catch::StartsWith(f.names[1]));
}

TEST_CASE("encoder: add_encoded_page refuses another encoding and empty payloads", "[compactor]") {
  VectorSink sink;
  Encoder enc(sink, ltxtest::make_header(512, 2, 2, 2, kChecksumFlag | 1), EncodeOptions::native());
  const Bytes page = ltxtest::filled_page(512, 7);
  Bytes lz4;
  PageCompressor(PageEncoding::kLz4Frame).compress(page, lz4);
  REQUIRE_LTX_ERROR(enc.add_encoded_page(1, page, PageEncoding::kLz4Frame, lz4),
                    LtxErrorKind::kInvalidArgument);
  REQUIRE_LTX_ERROR(enc.add_encoded_page(1, page, PageEncoding::kZstd, Bytes(3, 0)),
                    LtxErrorKind::kInvalidArgument);
  // The usual page rules apply to copied frames too.
  Bytes z;
  PageCompressor(PageEncoding::kZstd).compress(page, z);
  enc.add_encoded_page(2, page, PageEncoding::kZstd, z);
  REQUIRE_LTX_ERROR(enc.add_encoded_page(1, page, PageEncoding::kZstd, z),
                    LtxErrorKind::kBadPageOrder);
}

// ---- benchmark (hidden; run: build/tests/ltx/ltx_tests "[compact-bench]") ---------------------

namespace {

// Page-like data: a b-tree leaf of small rows with varying numbers and names, which zstd and LZ4
// compress about 2-3:1, like typical SQLite table pages.
Bytes table_page(std::uint32_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes p(size, 0);
  std::size_t at = 0;
  while (at + 64 < size) {
    char row[64];
    const int n =
        std::snprintf(row, sizeof row, "%llu|customer %llu|%llu.%02llu|%s;",
                      static_cast<unsigned long long>(rng() % 1000000),
                      static_cast<unsigned long long>(rng() % 5000),
                      static_cast<unsigned long long>(rng() % 10000),
                      static_cast<unsigned long long>(rng() % 100), rng() % 2 ? "paid" : "open");
    std::copy(row, row + n, p.begin() + static_cast<std::ptrdiff_t>(at));
    at += static_cast<std::size_t>(n);
  }
  return p;
}

// A generator of consistent chains that keeps the database checksum incrementally (ModelDb
// recomputes it from scratch, which would dominate a benchmark of large databases).
class BenchDb {
 public:
  BenchDb(std::uint32_t page_size, std::uint32_t pages, const EncodeOptions& options)
      : ps_(page_size), options_(options), sums_(pages, 0) {}

  Bytes commit(const std::map<std::uint32_t, Bytes>& changes) {
    const std::uint64_t pre = checksum_.value();
    for (const auto& [pgno, data] : changes) {
      if (sums_[pgno - 1] != 0) checksum_.toggle(sums_[pgno - 1]);
      sums_[pgno - 1] = page_checksum(pgno, data);
      checksum_.toggle(sums_[pgno - 1]);
    }
    ++txid_;
    Header h = ltxtest::make_header(ps_, static_cast<std::uint32_t>(sums_.size()),
                                    txid_ == 1 ? 1 : txid_, txid_, txid_ == 1 ? 0 : pre);
    VectorSink sink;
    Encoder enc(sink, h, options_);
    for (const auto& [pgno, data] : changes) enc.add_page(pgno, data);
    enc.finish(checksum_.value());
    return sink.take();
  }
  std::uint64_t txid() const { return txid_; }

 private:
  std::uint32_t ps_;
  EncodeOptions options_;
  std::vector<std::uint64_t> sums_;
  DatabaseChecksum checksum_;
  std::uint64_t txid_ = 0;
};

double best_seconds(const std::function<void()>& fn, int repeat) {
  double best = 1e9;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// Compacts into a temporary file through a buffered sink, as the history engine does; returns the
// output size.
std::uint64_t compact_to_file(std::span<const NamedSource> inputs, const EncodeOptions& opts,
                              bool copy_frames) {
  std::FILE* tmp = std::tmpfile();
  REQUIRE(tmp != nullptr);
  FdSink file(fileno(tmp), "bench output");
  BufferedSink sink(file);
  CompactOptions co;
  co.copy_frames = copy_frames;
  compact(inputs, sink, opts, "out.ltx", co);
  sink.flush();
  const auto size = static_cast<std::uint64_t>(::lseek(fileno(tmp), 0, SEEK_END));
  std::fclose(tmp);
  return size;
}

void report(const char* what, const Files& f, const EncodeOptions& opts, int repeat) {
  std::uint64_t in_bytes = 0;
  for (const auto& b : f.bytes) in_bytes += b.size();
  const auto inputs = f.all();
  std::uint64_t out_size = 0;
  // The floor: what any compaction must do, decode and verify every input.
  const double verify = best_seconds(
      [&] {
        for (const auto& in : inputs) verify_file(*in.source, in.name);
      },
      repeat);
  const double reencode = best_seconds([&] { compact_to_file(inputs, opts, false); }, repeat);
  const double copy = best_seconds([&] { out_size = compact_to_file(inputs, opts, true); }, repeat);
  std::printf(
      "%-36s %-9s %5zu files %6.1f MiB -> %6.1f MiB: verify inputs %6.3f s, "
      "re-encode %6.3f s, copy %6.3f s (%.1fx faster)\n",
      what, std::string(to_string(opts.encoding)).c_str(), f.bytes.size(),
      static_cast<double>(in_bytes) / (1 << 20), static_cast<double>(out_size) / (1 << 20), verify,
      reencode, copy, reencode / copy);
}

std::map<std::uint32_t, Bytes> random_changes(std::uint64_t txid, std::uint32_t count,
                                              std::uint32_t pages) {
  std::map<std::uint32_t, Bytes> ch;
  for (std::uint32_t k = 0; k < count; ++k) {
    const auto pgno = static_cast<std::uint32_t>((txid * 7919 + k * 104729) % pages) + 1;
    ch[pgno] = table_page(4096, txid * count + k);
  }
  return ch;
}

}  // namespace

TEST_CASE("compactor benchmark: copying frames vs re-encoding", "[.][bench][compact-bench]") {
  const std::uint32_t ps = 4096;
  for (const auto& opts : {EncodeOptions::native(), EncodeOptions::litestream()}) {
    {
      // 1,000 small transactions (a group upload, a level-1 compaction): 3 pages each over a
      // 2,000-page database.
      BenchDb db(ps, 2000, opts);
      std::map<std::uint32_t, Bytes> all;
      for (std::uint32_t p = 1; p <= 2000; ++p) all[p] = table_page(ps, p);
      db.commit(all);  // the base the increments apply to; not compacted here
      Files f;
      for (int i = 0; i < 1000; ++i) {
        f.add(db.commit(random_changes(db.txid() + 1, 3, 2000)),
              format_ltx_name(db.txid() + 1, db.txid() + 1));
      }
      report("1,000 small files (3 pages each)", f, opts, 7);
    }
    {
      // A 100 MiB snapshot and 100 increments of 50 pages each (a level-9 snapshot build).
      const std::uint32_t pages = 25600;
      BenchDb db(ps, pages, opts);
      Files f;
      std::map<std::uint32_t, Bytes> all;
      for (std::uint32_t p = 1; p <= pages; ++p) all[p] = table_page(ps, p);
      f.add(db.commit(all), format_ltx_name(1, 1));
      all.clear();
      for (int i = 0; i < 100; ++i) {
        f.add(db.commit(random_changes(db.txid() + 1, 50, pages)),
              format_ltx_name(db.txid() + 1, db.txid() + 1));
      }
      report("100 MiB snapshot + 100 increments", f, opts, 5);
    }
  }
}
