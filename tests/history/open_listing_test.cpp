// The writer's listing at open (history/open_listing.h, issue 16 item 10): every file's TXIDs,
// sizes and times where the writer needs them, and on a directory no stat call for the level-0
// files level 1 already holds.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "history/head_record.h"
#include "history/open_listing.h"
#include "history/restore_plan.h"
#include "storage/file_store.h"
#include "tests/storage/test_util.h"

using namespace ltxvfs;
using ltxvfs::testing::span_of;
using ltxvfs::testing::TempDir;

namespace {

constexpr auto kLayout = storage::LayoutStyle::kDirectory;

// Level-0 files 1..n, one TXID each.
void put_level_zero(storage::FileStore& store, uint64_t n) {
  for (uint64_t t = 1; t <= n; ++t) {
    store.put(storage::ltx_key(kLayout, 0, t, t), span_of("level zero " + std::to_string(t)));
  }
}

// What the store says of each object, by key.
std::map<std::string, storage::ObjectInfo> truth_of(storage::FileStore& store) {
  std::map<std::string, storage::ObjectInfo> out;
  for (const auto& o : store.list("")) out[o.key] = o;
  return out;
}

}  // namespace

TEST_CASE("open listing: level-0 files level 1 holds are dated by it, without a stat call",
          "[history][listing]") {
  TempDir dir;
  storage::FileStore store(dir.path());
  put_level_zero(store, 10);
  store.put(storage::ltx_key(kLayout, 1, 1, 6), span_of("level one, 1-6"));
  store.put(storage::ltx_key(kLayout, 2, 1, 4), span_of("two"));
  const auto truth = truth_of(store);
  const auto& level_one = truth.at(storage::ltx_key(kLayout, 1, 1, 6));

  const uint64_t heads_before = store.stats()->snapshot().heads;
  // The uploader may still hold TXID 9 on: those are dated whatever holds them.
  const auto files = history::read_history_dated_from(store, kLayout, /*dated_from_txid=*/9).files;
  const uint64_t heads = store.stats()->snapshot().heads - heads_before;
  CHECK(heads == 6);  // the level-1 and level-2 files, level-0 7 to 10

  const auto listed = history::list_ltx_files(store, kLayout);
  REQUIRE(files.size() == listed.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    INFO(f.key);
    CHECK(f.key == listed[i].key);  // the same files, in the same order
    CHECK(f.min_txid == listed[i].min_txid);
    CHECK(f.max_txid == listed[i].max_txid);
    if (f.level == 0 && f.max_txid <= 6) {
      CHECK(f.size == 0);
      CHECK(f.last_modified_ms == level_one.last_modified_ms);  // an upper bound of its commit
      CHECK(f.last_modified_ms >= truth.at(f.key).last_modified_ms);
    } else {
      CHECK(f.size == truth.at(f.key).size);
      CHECK(f.last_modified_ms == truth.at(f.key).last_modified_ms);
    }
  }
}

TEST_CASE("open listing: what head.json does not commit is left out, and dated",
          "[history][listing]") {
  TempDir dir;
  storage::FileStore store(dir.path());
  put_level_zero(store, 6);
  store.put(storage::ltx_key(kLayout, 1, 1, 4), span_of("level one, 1-4"));
  // A takeover at TXID 3 named no file there: 0000/3-3 is a stray. TXIDs 5 and 6 are past the head.
  history::HeadRecord head;
  head.txid = 4;
  head.points.push_back({3, {}});
  store.put(storage::head_key(kLayout), span_of(head.to_json()));

  const auto h = history::read_history_dated_from(store, kLayout, /*dated_from_txid=*/7);
  const auto committed = history::read_history(store, kLayout);
  REQUIRE(h.head);
  CHECK(h.head->txid == 4);
  REQUIRE(h.files.size() == committed.files.size());
  for (size_t i = 0; i < h.files.size(); ++i) CHECK(h.files[i].key == committed.files[i].key);
  REQUIRE(h.strays.size() == 1);
  CHECK(h.strays[0].key == storage::ltx_key(kLayout, 0, 3, 3));
  CHECK(h.strays[0].size > 0);  // dated by the store, not by the level-1 file
  CHECK(h.past_head.size() == 2);
  for (const auto& f : h.past_head) CHECK(f.last_modified_ms > 0);
}

TEST_CASE("take listing: read by key, undated, and dated where the caller looks",
          "[history][listing]") {
  // No level-1 file holds level 0 yet (a program that opens, writes and closes, faster than
  // level 1 compacts): the open's listing dates all of it, the take's none of it.
  TempDir dir;
  storage::FileStore store(dir.path());
  put_level_zero(store, 12);
  history::HeadRecord head;
  head.txid = 10;  // 11 and 12 past it
  store.put(storage::head_key(kLayout), span_of(head.to_json()));
  const auto truth = truth_of(store);

  const auto heads_of = [&](const auto& read) {
    const uint64_t before = store.stats()->snapshot().heads;
    read();
    return store.stats()->snapshot().heads - before;
  };
  history::History opened, taken;
  CHECK(heads_of([&] { opened = history::read_history_dated_from(store, kLayout, 9); }) == 12);
  CHECK(heads_of([&] { taken = history::read_history_by_key(store, kLayout); }) == 0);

  // The same history, TXID for TXID, without sizes or times.
  REQUIRE(taken.head);
  CHECK(taken.head->txid == 10);
  REQUIRE(taken.files.size() == 10);
  REQUIRE(taken.files.size() == opened.files.size());
  for (size_t i = 0; i < taken.files.size(); ++i) {
    const auto& f = taken.files[i];
    INFO(f.key);
    CHECK(f.key == opened.files[i].key);
    CHECK(f.min_txid == opened.files[i].min_txid);
    CHECK(f.max_txid == opened.files[i].max_txid);
    CHECK(f.size == 0);
    CHECK(f.last_modified_ms == 0);
  }
  CHECK(taken.past_head.size() == 2);

  // A caller dates the files it looks at; one deleted meanwhile is left out.
  store.remove({storage::ltx_key(kLayout, 0, 10, 10)});
  CHECK(heads_of([&] { history::date_files_from(store, taken.files, 9); }) == 2);
  REQUIRE(taken.files.size() == 9);
  for (const auto& f : taken.files) {
    INFO(f.key);
    CHECK(f.size == (f.max_txid >= 9 ? truth.at(f.key).size : 0));
    CHECK(f.last_modified_ms == (f.max_txid >= 9 ? truth.at(f.key).last_modified_ms : 0));
  }
}
