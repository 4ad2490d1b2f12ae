// The restore pipeline (download, decode and verify on worker threads, apply in order): long
// chains of small files whose pages supersede each other restore byte for byte, and a corrupt
// frame inside a file a worker decodes is still reported against that file, with nothing written
// at the output.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "base/posix_file.h"
#include "history/read_ahead_source.h"
#include "history/restorer.h"
#include "history_support.h"
#include "ltx/applier.h"
#include "ltx/decoder.h"
#include "ltx/error.h"
#include "ltx/header.h"
#include "ltx/source.h"
#include "storage/fault_injecting_store.h"
#include "storage/file_store.h"
#include "tests/support/fsync_log.h"

using namespace historytest;
using namespace ltxvfs;

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("restorer: a long chain of small files, pages superseded, restores byte for byte",
          "[restorer]") {
  const std::string dir = scratch_dir("restorer-chain");
  storage::FileStore fs(dir + "/store");
  // 40 pages at most: each of the 400 files rewrites pages that earlier files wrote.
  L0Writer writer(fs, LayoutStyle::kDirectory, {});
  for (int i = 0; i < 400; ++i) writer.commit(0, 1 + i % 3);
  const auto files = history::list_ltx_files(fs, LayoutStyle::kDirectory);
  for (const uint64_t txid : {writer.txid(), writer.txid() / 2}) {
    const auto plan = history::plan_restore(files, txid);
    for (const unsigned parallelism : {1u, 3u, 8u}) {
      // Every file downloaded ahead, every file streamed by the applier (as a snapshot larger
      // than kStreamAbove is), or some of each.
      const uint64_t stream_above = GENERATE(history::kStreamAbove, uint64_t{0}, uint64_t{600});
      INFO("TXID " << txid << ", parallelism " << parallelism << ", streamed above "
                   << stream_above);
      const std::string out =
          dir + "/out-" + std::to_string(txid) + "-" + std::to_string(parallelism) + ".db";
      ::unlink(out.c_str());
      history::RestoreOptions options;
      options.parallelism = parallelism;
      options.stream_above = stream_above;
      const auto result = history::restore(fs, plan, out, options);
      REQUIRE(result.txid == txid);
      REQUIRE(result.files == plan.size());
      REQUIRE(ltx::read_file(out) == writer.image(txid));
    }
  }
}

TEST_CASE("restorer: the output goes to the disk as it is written, not all at its fsync",
          "[restorer]") {
  const std::string dir = std::filesystem::canonical(scratch_dir("restorer-writeback")).string();
  storage::FileStore fs(dir + "/store");
  L0Writer::Options wo;
  wo.page_size = 4096;
  wo.initial_pages = 3000;  // 12 MB of pages in the snapshot: kWritebackEvery (4 MiB) thrice
  wo.max_pages = 3100;
  L0Writer writer(fs, LayoutStyle::kDirectory, wo);
  for (int i = 0; i < 5; ++i) writer.commit(0, 2);
  const auto plan =
      history::plan_restore(history::list_ltx_files(fs, LayoutStyle::kDirectory), writer.txid());
  const std::string out = dir + "/out.db";
  testing::FsyncLog log;
  history::restore(fs, plan, out);
  const auto calls = log.calls();
  REQUIRE(ltx::read_file(out) == writer.image(writer.txid()));
  const std::string temp = out + ".ltxvfs-restore.tmp";
  const auto fsync_at = std::find(calls.begin(), calls.end(), "fsync " + temp);
  REQUIRE(fsync_at != calls.end());
  // Started at least once per 4 MiB of the snapshot, every time before the fsync.
  CHECK(std::count(calls.begin(), fsync_at, "writeback " + temp) >= 2);
  CHECK(std::count(fsync_at, calls.end(), "writeback " + temp) == 0);
}

TEST_CASE("restorer: a file that cannot be downloaded fails the restore and leaves nothing",
          "[restorer]") {
  const std::string dir = scratch_dir("restorer-gone");
  auto owned = std::make_unique<storage::FileStore>(dir + "/store");
  storage::FileStore& fs = *owned;
  L0Writer writer(fs, LayoutStyle::kDirectory, {});
  for (int i = 0; i < 30; ++i) writer.commit(0, 2);
  const auto plan =
      history::plan_restore(history::list_ltx_files(fs, LayoutStyle::kDirectory), writer.txid());
  REQUIRE(plan.size() == 30);
  storage::FaultInjectingStore faulty(std::move(owned));
  faulty.vanish(plan[17].key);  // deleted by retention since the listing, say
  const std::string out = dir + "/out.db";
  for (const unsigned parallelism : {1u, 8u}) {
    history::RestoreOptions options;
    options.parallelism = parallelism;
    try {
      history::restore(faulty, plan, out, options);
      FAIL("restored without " << plan[17].key);
    } catch (const storage::StoreError& e) {  // the store's error, not a bad file's
      CHECK(e.kind() == storage::StoreErrorKind::kNotFound);
    }
    CHECK_FALSE(exists(out));
    CHECK_FALSE(exists(out + ".ltxvfs-restore.tmp"));
  }
}

TEST_CASE(
    "restorer: a cancelled restore stops at its next file, and restore_into gives the checksum",
    "[restorer]") {
  // A replica closing during its hydration's first restore (vfs/replica/hydrator.h) must not wait
  // for the whole chain.
  const std::string dir = scratch_dir("restorer-cancel");
  storage::FileStore fs(dir + "/store");
  L0Writer writer(fs, LayoutStyle::kDirectory, {});
  for (int i = 0; i < 30; ++i) writer.commit(0, 2);
  const auto plan =
      history::plan_restore(history::list_ltx_files(fs, LayoutStyle::kDirectory), writer.txid());
  REQUIRE(plan.size() == 30);
  const std::string out = dir + "/out.db";
  size_t applied = 0;
  history::RestoreOptions options;
  options.progress = [&](const history::RestoreProgress& p) { applied = p.files_done; };
  options.cancelled = [&] { return applied >= 3; };
  CHECK_THROWS_AS(history::restore(fs, plan, out, options), history::RestoreCancelled);
  CHECK(applied == 3);
  CHECK_FALSE(exists(out));
  CHECK_FALSE(exists(out + ".ltxvfs-restore.tmp"));

  // Uncancelled, into an open file: the checksum of what was written is the newest file's
  // post-apply checksum, and each file's etag is the one it was downloaded with (what a
  // hydration compares with the index it read), downloaded whole or streamed in chunks.
  options = {};
  options.stream_above = GENERATE(uint64_t{0}, history::kStreamAbove);
  base::Fd fd(::open(out.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  REQUIRE(fd);
  const auto result = history::restore_into(fs, plan, fd.get(), out, options);
  CHECK(result.txid == writer.txid());
  const auto last = fs.get(plan.back().key).body;
  const auto trailer = ltx::Trailer::decode(std::span(last).last<ltx::kTrailerSize>());
  CHECK(result.checksum == trailer.post_apply_checksum);
  CHECK(result.checksum != 0);
  REQUIRE(result.etags.size() == plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    INFO(plan[i].key);
    CHECK(result.etags[i] == fs.head(plan[i].key)->etag);
    CHECK_FALSE(result.etags[i].empty());
  }
}

TEST_CASE("restorer: a corrupt frame in the middle of a file decoded ahead or streamed is detected",
          "[restorer]") {
  const bool streamed = GENERATE(false, true);
  const std::string dir = scratch_dir(streamed ? "restorer-corrupt-streamed" : "restorer-corrupt");
  storage::FileStore fs(dir + "/store");
  L0Writer::Options wo;
  wo.max_pages = 200;
  wo.initial_pages = 150;
  L0Writer writer(fs, LayoutStyle::kDirectory, wo);
  for (int i = 0; i < 30; ++i) writer.commit(0, 5);
  const auto plan =
      history::plan_restore(history::list_ltx_files(fs, LayoutStyle::kDirectory), writer.txid());
  REQUIRE(plan.size() == 30);
  // The snapshot (the first file) has the most frames; corrupt one in its middle, and one in a
  // file in the middle of the chain, each in the middle of the frame's payload.
  for (const size_t victim : {size_t{0}, size_t{15}}) {
    INFO("file " << victim);
    const std::string& key = plan[victim].key;
    const auto good = fs.get(key).body;
    ltx::MemorySource src(good);
    ltx::Decoder dec(src, key);
    dec.verify();
    const auto& frames = dec.index().entries;
    REQUIRE(frames.size() >= 3);
    const auto& frame = frames[frames.size() / 2];
    auto bad = good;
    bad[frame.offset + frame.size / 2] ^= 0x20;
    fs.put(key, bad);

    const std::string out = dir + "/out.db";
    bool thrown = false;
    history::RestoreOptions options;
    options.stream_above = streamed ? 0 : history::kStreamAbove;
    try {
      history::restore(fs, plan, out, options);
    } catch (const history::BadFileError& e) {
      thrown = true;
      INFO(e.what());
      CHECK(e.key == key);
    }
    CHECK(thrown);
    CHECK_FALSE(exists(out));
    CHECK_FALSE(exists(out + ".ltxvfs-restore.tmp"));
    fs.put(key, good);
    history::restore(fs, plan, out);
    REQUIRE(ltx::read_file(out) == writer.image(writer.txid()));
    ::unlink(out.c_str());
  }
}

TEST_CASE("read-ahead source: chunks arrive in parallel, reads see the object's bytes",
          "[restorer]") {
  const std::string dir = scratch_dir("restorer-read-ahead");
  storage::FileStore fs(dir + "/store");
  Bytes object(100'003);
  for (size_t i = 0; i < object.size(); ++i) object[i] = static_cast<uint8_t>(i * 131 + i / 7);
  fs.put("o", object);
  for (const unsigned parallelism : {1u, 3u, 8u}) {
    INFO("parallelism " << parallelism);
    history::ReadAheadSource src(fs, "o", object.size(), parallelism, 4096);
    Bytes got;
    // Reads of odd sizes, across chunk boundaries, front to back.
    for (size_t at = 0, n = 1; at < object.size(); at += n, n = n * 3 % 10007 + 1) {
      n = std::min(n, object.size() - at);
      Bytes part(n);
      src.read_at(at, part);
      got.insert(got.end(), part.begin(), part.end());
    }
    REQUIRE(got == object);
    Bytes back(10);  // behind the reader: fetched again
    src.read_at(5, back);
    REQUIRE(back == Bytes(object.begin() + 5, object.begin() + 15));
    REQUIRE_THROWS_AS(src.read_at(object.size() - 1, back), ltx::LtxError);
  }
}

TEST_CASE("read-ahead source: a corrupt frame of a streamed file is detected", "[restorer]") {
  const std::string dir = scratch_dir("restorer-read-ahead-corrupt");
  storage::FileStore fs(dir + "/store");
  L0Writer::Options wo;
  wo.max_pages = 200;
  wo.initial_pages = 150;
  L0Writer writer(fs, LayoutStyle::kDirectory, wo);
  writer.commit(0, 1);
  const auto plan =
      history::plan_restore(history::list_ltx_files(fs, LayoutStyle::kDirectory), writer.txid());
  const std::string& key = plan[0].key;
  const auto good = fs.get(key).body;
  struct Null final : ltx::PageWriter {
    void write_page(uint32_t, std::span<const uint8_t>) override {}
    void truncate(uint32_t, uint32_t) override {}
  } null;
  {
    ltx::ChainApplier applier(null);
    history::ReadAheadSource src(fs, key, good.size(), 4, 1024);
    applier.apply(src, key);
    REQUIRE(applier.state().txid == writer.txid());
  }
  ltx::MemorySource mem(good);
  ltx::Decoder dec(mem, key);
  dec.verify();
  const auto& frame = dec.index().entries[dec.index().entries.size() / 2];
  auto bad = good;
  bad[frame.offset + frame.size / 2] ^= 0x04;
  fs.put(key, bad);
  ltx::ChainApplier applier(null);
  history::ReadAheadSource src(fs, key, bad.size(), 4, 1024);
  REQUIRE_THROWS_AS(applier.apply(src, key), ltx::LtxError);
}

TEST_CASE("restorer: a plan of one large file streams it in ranges, decoded on every core",
          "[restorer]") {
  // Downloaded ahead, a lone file came over one GET and decoded on one thread with nothing
  // beside it; over kStreamAloneAbove it comes in 4 MiB ranges and decodes on every core.
  const std::string dir = scratch_dir("restorer-alone");
  storage::FileStore files(dir + "/store");
  std::atomic<int64_t> now{0};
  SimTimeStore fs(files, now);
  L0Writer::Options wo;
  wo.page_size = 4096;
  wo.initial_pages = 6000;  // ~12.6 MB stored: over 8 MiB, three 4 MiB ranges and a bit
  wo.max_pages = 6000;
  L0Writer writer(fs, LayoutStyle::kDirectory, wo);
  writer.commit(0, 1);
  const auto plan =
      history::plan_restore(history::list_ltx_files(fs, LayoutStyle::kDirectory), writer.txid());
  REQUIRE(plan.size() == 1);
  REQUIRE(plan[0].size > history::kStreamAloneAbove);
  REQUIRE(plan[0].size < history::kStreamAbove);
  for (const bool alone_streams : {true, false}) {
    INFO("streamed: " << alone_streams);
    history::RestoreOptions options;
    if (!alone_streams) options.stream_alone_above = history::kStreamAbove;
    const std::string out = dir + "/out.db";
    ::unlink(out.c_str());
    const uint64_t gets_before = fs.gets;
    history::restore(fs, plan, out, options);
    const uint64_t gets = fs.gets - gets_before;
    CHECK(ltx::read_file(out) == writer.image(writer.txid()));
    if (alone_streams) {
      CHECK(gets >= (plan[0].size + (4u << 20) - 1) / (4u << 20));
    } else {
      CHECK(gets == 1);
    }
  }
}
