// Compactor and applier: both are checked against the model database, which computes the
// expected database image and checksum independently of the code under test.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "ltx/applier.h"
#include "ltx/compactor.h"
#include "ltx/decoder.h"
#include "ltx/file_name.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;
using ltxtest::MemoryPageWriter;
using ltxtest::ModelDb;

namespace {

// A chain that exercises overwrites, growth and shrinking: TXIDs 1..5.
struct Chain {
  std::vector<Bytes> files;
  std::vector<std::string> names;
  std::vector<std::unique_ptr<MemorySource>> sources;
  Bytes image;
  std::uint64_t checksum = 0;

  std::vector<NamedSource> named(std::size_t from, std::size_t to) const {
    std::vector<NamedSource> out;
    for (std::size_t i = from; i < to; ++i) out.push_back({sources[i].get(), names[i]});
    return out;
  }
};

Chain make_chain(std::uint32_t page_size, const EncodeOptions& opts) {
  ModelDb db(page_size, opts);
  Chain c;
  auto pg = [&](std::uint64_t seed) { return ltxtest::compressible_page(page_size, seed); };
  auto add = [&](Bytes file) {
    c.files.push_back(std::move(file));
    c.names.push_back(format_ltx_name(db.txid(), db.txid()));
  };
  add(db.commit({{1, pg(1)}, {2, pg(2)}, {3, pg(3)}, {4, pg(4)}}, 4, 1000));
  add(db.commit({{2, pg(22)}, {4, pg(44)}}, 4, 2000));
  add(db.commit({{1, pg(111)}, {5, pg(5)}, {6, pg(6)}, {7, pg(7)}}, 7, 3000));  // grows
  add(db.commit({{2, pg(222)}}, 3, 4000));                                      // shrinks
  add(db.commit({{3, pg(333)}, {4, pg(444)}, {5, pg(555)}}, 5, 5000));          // grows again
  for (const auto& f : c.files) c.sources.push_back(std::make_unique<MemorySource>(f));
  c.image = db.image();
  c.checksum = db.checksum();
  return c;
}

DatabaseState apply_all(const std::vector<NamedSource>& files, MemoryPageWriter& w) {
  ChainApplier applier(w);
  for (const auto& f : files) applier.apply(*f.source, f.name);
  return applier.state();
}

}  // namespace

TEST_CASE("applier: a chain produces exactly the expected database", "[applier]") {
  for (const auto& opts : {EncodeOptions::native(), EncodeOptions::litestream()}) {
    const Chain c = make_chain(512, opts);
    MemoryPageWriter w;
    const DatabaseState st = apply_all(c.named(0, c.files.size()), w);
    INFO(to_string(opts.encoding));
    REQUIRE(w.db == c.image);
    REQUIRE(st.txid == 5);
    REQUIRE(st.commit == 5);
    REQUIRE(st.page_size == 512);
    REQUIRE(st.checksum == c.checksum);  // tracked even when the files carry none
  }
}

TEST_CASE("applier: restore_to_fd writes a real database file", "[applier]") {
  const Chain c = make_chain(4096, EncodeOptions::native());
  char path[] = "/tmp/ltx_restore_XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  // Leftover content must not survive: the restore starts from an empty file.
  const Bytes junk(100000, 0xee);
  REQUIRE(::write(fd, junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
  const auto chain = c.named(0, c.files.size());
  const DatabaseState st = restore_to_fd(chain, fd, path);
  REQUIRE(st.txid == 5);
  REQUIRE(read_file(path) == c.image);
  ::close(fd);
  ::unlink(path);
}

TEST_CASE("applier: continuity and checksum checks", "[applier]") {
  const Chain c = make_chain(512, EncodeOptions::native());
  {  // must start with a snapshot
    MemoryPageWriter w;
    ChainApplier a(w);
    REQUIRE_LTX_ERROR(a.apply(*c.sources[1], c.names[1]), LtxErrorKind::kTxidGap);
  }
  {  // a gap
    MemoryPageWriter w;
    ChainApplier a(w);
    a.apply(*c.sources[0], c.names[0]);
    std::string msg;
    LTX_ERROR_MESSAGE(a.apply(*c.sources[2], c.names[2]), msg);
    REQUIRE_THAT(msg, Catch::Contains(c.names[2]) && Catch::Contains("expected 2"));
    REQUIRE_LTX_ERROR(a.apply(*c.sources[2], c.names[2]), LtxErrorKind::kTxidGap);
  }
  {  // a file from another history: right TXID, wrong pre-apply checksum. Nothing is written.
    ModelDb other(512, EncodeOptions::native());
    other.commit({{1, ltxtest::random_page(512, 1)}}, 1);
    const Bytes foreign = other.commit({{1, ltxtest::random_page(512, 2)}}, 1);
    MemoryPageWriter w;
    ChainApplier a(w);
    a.apply(*c.sources[0], c.names[0]);
    const int writes = w.writes;
    MemorySource src(foreign);
    REQUIRE_LTX_ERROR(a.apply(src, "foreign.ltx"), LtxErrorKind::kPreApplyMismatch);
    REQUIRE(w.writes == writes);
  }
  {  // a post-apply checksum that does not match the result
    ModelDb db(512, EncodeOptions::native());
    const Bytes snap = db.commit({{1, ltxtest::random_page(512, 1)}}, 1);
    const Bytes next = ltxtest::encode(ltxtest::make_header(512, 1, 2, 2, db.checksum()),
                                       {{1, ltxtest::random_page(512, 2)}}, EncodeOptions::native(),
                                       kChecksumFlag | 77);
    MemoryPageWriter w;
    ChainApplier a(w);
    MemorySource s1(snap), s2(next);
    a.apply(s1, "snap");
    REQUIRE_LTX_ERROR(a.apply(s2, "next"), LtxErrorKind::kPostApplyMismatch);
  }
  {  // growth without the new pages
    ModelDb db(512, EncodeOptions::litestream());
    const Bytes snap = db.commit({{1, ltxtest::random_page(512, 1)}}, 1);
    const Bytes grow =
        ltxtest::encode(ltxtest::make_header(512, 3, 2, 2), {{3, ltxtest::random_page(512, 3)}},
                        EncodeOptions::litestream());
    MemoryPageWriter w;
    ChainApplier a(w);
    MemorySource s1(snap), s2(grow);
    a.apply(s1, "snap");
    REQUIRE_LTX_ERROR(a.apply(s2, "grow"), LtxErrorKind::kIncompleteGrowth);
    // A page far past the end is refused as it arrives, before anything is sized for it.
    const Bytes far =
        ltxtest::encode(ltxtest::make_header(512, 4000000000u, 2, 2),
                        {{4000000000u, ltxtest::random_page(512, 4)}}, EncodeOptions::litestream());
    MemorySource s3(far);
    MemoryPageWriter w2;
    ChainApplier fresh(w2);
    fresh.apply(s1, "snap");
    std::string msg;
    LTX_ERROR_MESSAGE(fresh.apply(s3, "far"), msg);
    REQUIRE_THAT(msg, Catch::Contains("does not carry page 2"));
  }
  {  // page size change
    ModelDb db(512, EncodeOptions::litestream());
    const Bytes snap = db.commit({{1, ltxtest::random_page(512, 1)}}, 1);
    const Bytes other =
        ltxtest::encode(ltxtest::make_header(1024, 1, 2, 2), {{1, ltxtest::random_page(1024, 3)}},
                        EncodeOptions::litestream());
    MemoryPageWriter w;
    ChainApplier a(w);
    MemorySource s1(snap), s2(other);
    a.apply(s1, "snap");
    REQUIRE_LTX_ERROR(a.apply(s2, "other"), LtxErrorKind::kBadPageSize);
  }
}

TEST_CASE("compactor: compacting equals applying the inputs in sequence", "[compactor]") {
  for (const auto& opts : {EncodeOptions::native(), EncodeOptions::litestream()}) {
    INFO(to_string(opts.encoding));
    const Chain c = make_chain(1024, opts);

    // Everything into one snapshot.
    VectorSink all;
    const auto inputs = c.named(0, c.files.size());
    const CompactResult r = compact(inputs, all, opts, "all.ltx");
    REQUIRE(r.header.is_snapshot());
    MemorySource all_src(all.bytes());
    MemoryPageWriter w1;
    const DatabaseState s1 = apply_all({{&all_src, "all.ltx"}}, w1);
    REQUIRE(w1.db == c.image);
    REQUIRE(s1.checksum == c.checksum);
    REQUIRE(s1.txid == 5);

    // Snapshot, then the four incrementals compacted into one.
    VectorSink tail;
    const auto incs = c.named(1, c.files.size());
    compact(incs, tail, opts, "tail.ltx");
    MemorySource tail_src(tail.bytes());
    MemoryPageWriter w2;
    const DatabaseState s2 =
        apply_all({{c.sources[0].get(), c.names[0]}, {&tail_src, "tail.ltx"}}, w2);
    REQUIRE(w2.db == c.image);
    REQUIRE(s2.checksum == c.checksum);

    // Pages above the final commit (6 and 7, written by TXID 3) are dropped.
    MemorySource check(tail.bytes());
    const FileSummary summary = verify_file(check);
    for (const auto& e : summary.index.entries) REQUIRE(e.pgno <= 5);
    REQUIRE(summary.index.find(2) != nullptr);
  }
}

TEST_CASE("compactor: output header field rules", "[compactor]") {
  const Chain c = make_chain(512, EncodeOptions::native());
  VectorSink out;
  const auto inputs = c.named(1, 4);  // TXIDs 2..4
  const CompactResult r = compact(inputs, out, EncodeOptions::native(), "out.ltx");
  MemorySource first_src(c.files[1]), last_src(c.files[3]);
  const FileSummary first = verify_file(first_src), last = verify_file(last_src);
  REQUIRE(r.header.min_txid == 2);
  REQUIRE(r.header.max_txid == 4);
  REQUIRE(r.header.pre_apply_checksum == first.header.pre_apply_checksum);
  REQUIRE(r.header.commit == last.header.commit);
  REQUIRE(r.header.timestamp_ms == 4000);
  REQUIRE(r.trailer.post_apply_checksum == last.trailer.post_apply_checksum);
  REQUIRE(r.header.wal_offset == 0);
  REQUIRE(r.header.wal_size == 0);
  REQUIRE(r.header.wal_salt1 == 0);
  REQUIRE(r.header.wal_salt2 == 0);
  REQUIRE(r.header.node_id == 0);
  REQUIRE_FALSE(r.header.is_snapshot());
  MemorySource out_src(out.bytes());
  REQUIRE(verify_file(out_src).header == r.header);

  // Re-encoded for Litestream from checksummed inputs: checksums dropped, flags 0x2.
  VectorSink ls;
  const CompactResult lr = compact(inputs, ls, EncodeOptions::litestream());
  REQUIRE(lr.header.flags == 0x2);
  REQUIRE(lr.header.pre_apply_checksum == 0);
  REQUIRE(lr.trailer.post_apply_checksum == 0);
}

TEST_CASE("compactor: gaps, page sizes and missing checksums are refused", "[compactor]") {
  const Chain c = make_chain(512, EncodeOptions::native());
  VectorSink out;
  const std::vector<NamedSource> gap = {{c.sources[0].get(), c.names[0]},
                                        {c.sources[2].get(), c.names[2]}};
  std::string msg;
  LTX_ERROR_MESSAGE(compact(gap, out, EncodeOptions::native(), "out.ltx"), msg);
  REQUIRE_THAT(msg, Catch::Contains(c.names[0]) && Catch::Contains(c.names[2]));
  REQUIRE_LTX_ERROR(compact(gap, out, EncodeOptions::native()), LtxErrorKind::kTxidGap);

  const std::vector<NamedSource> backwards = {{c.sources[1].get(), c.names[1]},
                                              {c.sources[0].get(), c.names[0]}};
  REQUIRE_LTX_ERROR(compact(backwards, out, EncodeOptions::native()), LtxErrorKind::kTxidGap);
  REQUIRE_LTX_ERROR(compact(std::span<const NamedSource>(), out, EncodeOptions::native()),
                    LtxErrorKind::kInvalidArgument);

  const Bytes big =
      ltxtest::encode(ltxtest::make_header(1024, 1, 2, 2), {}, EncodeOptions::litestream());
  MemorySource big_src(big);
  const std::vector<NamedSource> sizes = {{c.sources[0].get(), c.names[0]}, {&big_src, "big"}};
  REQUIRE_LTX_ERROR(compact(sizes, out, EncodeOptions::litestream()), LtxErrorKind::kBadPageSize);

  const Chain ls = make_chain(512, EncodeOptions::litestream());
  const auto ls_inputs = ls.named(0, 2);
  REQUIRE_LTX_ERROR(compact(ls_inputs, out, EncodeOptions::native()),
                    LtxErrorKind::kInvalidArgument);
}

TEST_CASE("compactor: a corrupt input fails the compaction, naming the input", "[compactor]") {
  const Chain c = make_chain(512, EncodeOptions::native());
  Bytes corrupt = c.files[2];
  corrupt[corrupt.size() - 1] ^= 1;  // file checksum
  MemorySource bad(corrupt);
  const std::vector<NamedSource> inputs = {{c.sources[1].get(), c.names[1]}, {&bad, c.names[2]}};
  VectorSink out;
  std::string msg;
  LTX_ERROR_MESSAGE(compact(inputs, out, EncodeOptions::native()), msg);
  REQUIRE_THAT(msg, Catch::StartsWith(c.names[2] + ": file checksum mismatch"));
}
