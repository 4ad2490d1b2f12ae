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

TEST_CASE("open listing: level-0 files level 1 holds are dated by it, without a stat call",
          "[history][listing]") {
  TempDir dir;
  storage::FileStore store(dir.path());
  constexpr auto kLayout = storage::LayoutStyle::kDirectory;
  for (uint64_t t = 1; t <= 10; ++t) {
    store.put(storage::ltx_key(kLayout, 0, t, t), span_of("level zero " + std::to_string(t)));
  }
  store.put(storage::ltx_key(kLayout, 1, 1, 6), span_of("level one, 1-6"));
  store.put(storage::ltx_key(kLayout, 2, 1, 4), span_of("two"));
  std::map<std::string, storage::ObjectInfo> truth;
  for (const auto& o : store.list("")) truth[o.key] = o;
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
  constexpr auto kLayout = storage::LayoutStyle::kDirectory;
  for (uint64_t t = 1; t <= 6; ++t) {
    store.put(storage::ltx_key(kLayout, 0, t, t), span_of("level zero " + std::to_string(t)));
  }
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
