// FrameStream (vfs/replica/frame_stream.h): a ranged GET's frames decoded while its bytes arrive,
// fed here in pieces of every size over a model primary's object.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ltx/error.h"
#include "tests/replica/engine_support.h"
#include "tests/replica/model_replica.h"
#include "vfs/replica/coalesce.h"
#include "vfs/replica/errors.h"
#include "vfs/replica/frame_stream.h"

using namespace ltxvfs::replica;
using ltxvfs::testing::ModelPrimary;
using namespace replicatest;

namespace {

// Pages 3, 4, 6 and 9 of a one-file model primary: one range with holes (pages 5, 7, 8), and the
// object's bytes of that range.
struct OneRange {
  OneRange() : dir(fresh_dir("frame-stream")), model(dir, 1024) {
    for (uint32_t p = 1; p <= 20; ++p) model.set(p, p);
    model.commit();
    ReplicaOptions options = options_for(dir);
    options.prefetch_pages = 0;
    location = location_for(options);
    replica = std::make_unique<Replica>(options, location, nullptr);
    snap = replica->pin();
    std::vector<FrameRef> frames;
    for (uint32_t p : {3, 4, 6, 9}) {
      const auto frame = snap->locate(p);
      REQUIRE(frame);
      frames.push_back(*frame);
    }
    auto ranges = coalesce(frames, uint64_t{1} << 20, uint64_t{1} << 20);
    REQUIRE(ranges.size() == 1);
    range = ranges.front();
    REQUIRE(range.frames.size() == 4);
    bytes = location->store()
                .get(range.file->file.key,
                     ltxvfs::storage::ByteRange::at(range.begin, range.end - range.begin))
                .body;
    REQUIRE(bytes.size() > range.frames[0].size + range.frames[1].size);  // the holes are in it
  }
  std::string dir;
  ModelPrimary model;
  std::shared_ptr<Location> location;
  std::unique_ptr<Replica> replica;
  std::shared_ptr<const Snapshot> snap;
  FetchRange range;
  std::vector<uint8_t> bytes;
};

// Feeds `bytes` from `from` in pieces of `piece` bytes.
void feed(FrameStream& s, const std::string& etag, const std::vector<uint8_t>& bytes, size_t piece,
          size_t from = 0, size_t to = SIZE_MAX) {
  to = std::min(to, bytes.size());
  for (size_t at = from; at < to; at += piece) {
    s.take(etag, at, std::span(bytes).subspan(at, std::min(piece, to - at)));
  }
}

// The store's result for the answer (fetch() returns it without the body).
ltxvfs::storage::GetResult answer(const std::string& etag) {
  ltxvfs::storage::GetResult got;
  got.etag = etag;
  return got;
}

}  // namespace

TEST_CASE("frame stream: each frame is handed out whole, in order, whatever the pieces",
          "[replica][unit]") {
  OneRange r;
  const std::string etag = r.range.file->etag;
  for (size_t piece : {size_t{1}, size_t{7}, size_t{100}, size_t{4096}, r.bytes.size()}) {
    INFO("pieces of " << piece << " bytes");
    std::vector<uint32_t> handed;
    FrameStream s(r.range, [&](size_t i, PageBytes page) {
      CHECK(i == handed.size());
      CHECK(*page == r.model.page_at(r.snap->txid(), r.range.frames[i].pgno));
      handed.push_back(r.range.frames[i].pgno);
    });
    // The first frame is out as soon as its own bytes are in, before the rest arrive.
    const uint64_t first_end = r.range.frames[0].offset - r.range.begin + r.range.frames[0].size;
    feed(s, etag, r.bytes, piece, 0, first_end);
    CHECK(handed == std::vector<uint32_t>{3});
    feed(s, etag, r.bytes, piece, first_end);
    CHECK(handed == std::vector<uint32_t>{3, 4, 6, 9});
    CHECK(s.received() == r.bytes.size());
    s.finish(answer(etag));
  }
}

TEST_CASE("frame stream: a retried request, another object version, a bad frame",
          "[replica][unit]") {
  OneRange r;
  const std::string etag = r.range.file->etag;
  int handed = 0;
  const auto count = [&](size_t, PageBytes) { ++handed; };
  {  // The store retried after half the bytes: what came twice is handed out once.
    FrameStream s(r.range, count);
    feed(s, etag, r.bytes, 300, 0, r.bytes.size() / 2);
    feed(s, etag, r.bytes, 500);
    CHECK(handed == 4);
    CHECK(s.received() == r.bytes.size());
    s.finish(answer(etag));
  }
  handed = 0;
  {  // The answer is from another version of the object: nothing decoded.
    FrameStream s(r.range, count);
    feed(s, etag + "x", r.bytes, 1000);
    CHECK(handed == 0);
    CHECK(s.received() == r.bytes.size());
    try {
      s.finish(answer(etag + "x"));
      FAIL("another version was taken");
    } catch (const ReplicaError& e) {  // named as such, not as missing frames
      CHECK(e.kind() == ReplicaErrorKind::kSnapshotLost);
      CHECK_THAT(e.what(), Catch::Contains("was replaced in the store"));
    }
  }
  {  // A frame that does not decode (its page number): the frames before it are out.
    std::vector<uint8_t> bad = r.bytes;
    bad[r.range.frames[2].offset - r.range.begin + 3] ^= 0xff;
    FrameStream s(r.range, count);
    feed(s, etag, bad, 64);
    CHECK(handed == 2);
    CHECK(s.received() == bad.size());  // every byte arrived: the error is the frame's, below
    try {
      s.finish(answer(etag));
      FAIL("a bad frame was taken");
    } catch (const ltxvfs::ltx::LtxError& e) {
      CHECK(e.kind() != ltxvfs::ltx::LtxErrorKind::kTruncated);
    }
  }
  handed = 0;
  {  // Bytes that went missing (a piece skipped after page 4): nothing after them is placed.
    FrameStream s(r.range, count);
    const size_t after_4 = r.range.frames[1].offset - r.range.begin + r.range.frames[1].size;
    feed(s, etag, r.bytes, 100, 0, after_4);
    feed(s, etag, r.bytes, 100, after_4 + 1);
    CHECK(handed == 2);
    CHECK_THROWS_WITH(s.finish(answer(etag)), Catch::Contains("asked for bytes"));
  }
}
