// head.json (history/head_record.h, head_keeper.h, committed_history.h): only what the current
// owner commits is history, whatever a fenced-out writer's late PUT lands (issue 16, item 3).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "history/committed_history.h"
#include "history/head_keeper.h"
#include "history/restore_plan.h"
#include "storage/file_store.h"
#include "tests/history/history_support.h"

namespace {

using ltxvfs::history::committed_history;
using ltxvfs::history::HeadIdentity;
using ltxvfs::history::HeadKeeper;
using ltxvfs::history::HeadLost;
using ltxvfs::history::HeadRecord;
using ltxvfs::history::IndexHints;
using ltxvfs::history::ObservedHead;
using ltxvfs::history::RemoteFile;
using ltxvfs::storage::LayoutStyle;
using ltxvfs::storage::ObjectStore;

constexpr LayoutStyle kLayout = LayoutStyle::kDirectory;

RemoteFile file(uint32_t level, uint64_t min, uint64_t max) {
  return {level, min, max, ltxvfs::storage::ltx_key(kLayout, level, min, max), 100, 0};
}

// An object as a listing names it: what a head's tail hints are looked up by.
RemoteFile object_named(uint32_t level, uint64_t min, uint64_t max, uint64_t size) {
  return {level, min, max, "", size, 0};
}

IndexHints tail_hint(uint64_t tail_bytes) {
  IndexHints h;
  h.tail_bytes = tail_bytes;
  return h;
}

std::vector<std::string> keys_of(const std::vector<RemoteFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.key);
  return out;
}

// Forwards to one store, then (point_to) another: a writer whose first transactions went
// elsewhere (a restored copy of the replica) and who then continues this location.
class SwitchStore final : public ObjectStore {
 public:
  explicit SwitchStore(ObjectStore& first) : to_(&first) {}
  void point_to(ObjectStore& s) { to_ = &s; }
  ltxvfs::storage::PutResult put(const std::string& k, std::span<const uint8_t> b,
                                 const ltxvfs::storage::PutOptions& o) override {
    return to_->put(k, b, o);
  }
  ltxvfs::storage::GetResult get(const std::string& k,
                                 std::optional<ltxvfs::storage::ByteRange> r) override {
    return to_->get(k, r);
  }
  std::optional<ltxvfs::storage::ObjectInfo> head(const std::string& k) override {
    return to_->head(k);
  }
  std::vector<ltxvfs::storage::ObjectInfo> list(const std::string& p,
                                                const std::string& a) override {
    return to_->list(p, a);
  }
  void remove(const std::vector<std::string>& k) override { to_->remove(k); }
  std::string describe() const override { return to_->describe(); }

 private:
  ObjectStore* to_;
};

uint64_t head_txid(const ltxvfs::history::History& h) {
  return h.head ? h.head->txid : 0;
}

}  // namespace

TEST_CASE("head record: round trip, and what is not a head", "[head]") {
  HeadRecord r;
  r.txid = 66;
  r.generation = 7;
  r.owner = "host:1:ab";
  r.points = {{43, {"ltx/0/000000000000002b-0000000000000033.ltx"}}, {60, {}}};
  const auto back = HeadRecord::from_json(r.to_json());
  REQUIRE(back);
  CHECK(back->to_json() == r.to_json());
  CHECK(back->describe() == "TXID 66, owner host:1:ab (generation 7)");
  for (const char* bad :
       {"", "garbage", "[]", R"({"txid":-5,"generation":1,"owner":"o","points":[]})",
        R"({"txid":9223372036854775808,"generation":1,"owner":"o","points":[]})",
        R"({"txid":1,"generation":1,"owner":"o"})",
        R"({"txid":1,"generation":1,"owner":"o","points":[{"txid":0,"keys":[]}]})",
        R"({"txid":1,"generation":1,"owner":"o","points":[{"txid":2,"keys":[3]}]})"}) {
    INFO(bad);
    CHECK_FALSE(HeadRecord::from_json(bad));
  }
}

TEST_CASE("head record: tail hints round trip, are bounded, and a bad one is only skipped",
          "[head]") {
  HeadRecord r;
  r.txid = 70;
  r.owner = "o";
  const uint64_t n = HeadRecord::kMaxTails + 5;
  for (uint64_t t = 1; t <= n; ++t) r.add_tail({0, t, t, 1000 + t, 40 + t});
  REQUIRE(r.tails.size() == HeadRecord::kMaxTails);
  CHECK(r.tails.front().min_txid == 6);  // the oldest five dropped
  CHECK(r.tail_bytes(object_named(0, n, n, 1000 + n)) == 40 + n);
  CHECK(r.tail_bytes(object_named(0, n, n, 1001 + n)) == 0);  // another object at that key
  CHECK(r.tail_bytes(object_named(1, n, n, 1000 + n)) == 0);  // another level
  CHECK(r.tail_bytes(object_named(0, 5, 5, 1005)) == 0);      // dropped
  // A snapshot's hint outlives the level-0 churn after it: beyond kKeptTails, the hints a higher
  // level covers go first, and every file the chain still needs keeps its own.
  HeadRecord s;
  s.add_tail({9, 1, 50, 9000, 4000});
  for (uint64_t t = 1; t <= n; ++t) s.add_tail({0, t, t, 1000 + t, 40 + t});
  CHECK(s.tails.size() == 1 + (n - 50));
  CHECK(s.tail_bytes(object_named(9, 1, 50, 9000)) == 4000);
  CHECK(s.tail_bytes(object_named(0, 50, 50, 1050)) == 0);  // the snapshot covers it: dropped
  CHECK(s.tail_bytes(object_named(0, 51, 51, 1051)) == 40 + 51);
  CHECK(s.tail_bytes(object_named(0, n, n, 1000 + n)) == 40 + n);
  // Below kKeptTails, covered hints stay (a time-travel open of a TXID inside the snapshot's
  // range uses them); beyond, they go even when the head is far from kMaxTails.
  HeadRecord few;
  for (uint64_t t = 1; t <= 10; ++t) few.add_tail({0, t, t, 1000 + t, 40 + t});
  few.add_tail({1, 1, 10, 5000, 300});
  CHECK(few.tails.size() == 11);
  for (uint64_t t = 11; t < 11 + HeadRecord::kKeptTails; ++t)
    few.add_tail({0, t, t, 1000 + t, 40 + t});
  CHECK(few.tails.size() == HeadRecord::kKeptTails + 1);  // the ten covered ones went first
  CHECK(few.tail_bytes(object_named(0, 10, 10, 1010)) == 0);
  CHECK(few.tail_bytes(object_named(1, 1, 10, 5000)) == 300);
  // A chain no compaction shortened: every one of its files keeps its hint, up to kMaxTails.
  HeadRecord longer;
  for (uint64_t t = 1; t <= 225; ++t) longer.add_tail({0, t, t, 1000 + t, 40 + t});
  CHECK(longer.tails.size() == 225);
  CHECK(longer.tail_bytes(object_named(0, 1, 1, 1001)) == 41);
  CHECK(HeadRecord::from_json(longer.to_json())->tails == longer.tails);
  CHECK(longer.to_json().size() < 10 * 1024);
  // A head.json with more hints than any writer keeps (bucket content): the newest kMaxTails.
  std::string many = R"({"txid":20000,"owner":"o","generation":1,"points":[],"tails":[)";
  for (uint64_t t = 1; t <= 20000; ++t) {
    many += (t > 1 ? "," : "") + std::string("[0,") + std::to_string(t) + "," + std::to_string(t) +
            ",5000,100]";
  }
  many += "]}";
  const auto parsed = HeadRecord::from_json(many);
  REQUIRE(parsed);
  CHECK(parsed->tails.size() == HeadRecord::kMaxTails);
  CHECK(parsed->tails.back().max_txid == 20000);
  CHECK(parsed->tails.front().max_txid == 20000 - HeadRecord::kMaxTails + 1);
  const auto back = HeadRecord::from_json(r.to_json());
  REQUIRE(back);
  CHECK(back->tails == r.tails);
  CHECK(back->to_json() == r.to_json());
  // Malformed hints are skipped; the head is still a head (fencing does not depend on them).
  const auto odd = HeadRecord::from_json(
      R"({"txid":1,"generation":1,"owner":"o","points":[],)"
      R"("tails":[[0,1,1,500,40],[0,2,2,500],"x",[0,3,3,-1,40],[0,4,4,500,40.5],[10,1,1,5,4],)"
      R"([9,1,5,600,44]]})");
  REQUIRE(odd);
  CHECK(odd->tails ==
        std::vector<ltxvfs::history::TailHint>{{0, 1, 1, 500, 40}, {9, 1, 5, 600, 44}});
  CHECK(HeadRecord::from_json(R"({"txid":1,"generation":1,"owner":"o","points":[],"tails":7})"));
}

TEST_CASE(
    "head record: a long index's directory rides with its tail hint, and a bad one is skipped",
    "[head]") {
  HeadRecord r;
  r.txid = 9;
  r.owner = "o";
  // A snapshot whose index (tail 300,000 bytes) has a directory, and a level-0 file without.
  ltxvfs::history::TailHint snap{9, 1, 8, 5'000'000, 300'000, 0, {}};
  snap.directory = {{1, 0, 100}, {9000, 65'540, 2'000'000}, {17'000, 131'090, 3'900'000}};
  r.add_tail(snap);
  r.add_tail({0, 9, 9, 4000, 60});
  const std::string json = r.to_json();
  const auto back = HeadRecord::from_json(json);
  REQUIRE(back);
  CHECK(back->tails == r.tails);
  CHECK(back->tail_of(object_named(9, 1, 8, 5'000'000))->directory == snap.directory);
  // Readers that know no directories read the tails as before: they are a field of their own.
  CHECK(json.find(R"("tails":[[9,1,8,5000000,300000],[0,9,9,4000,60]])") != std::string::npos);
  // A directory that cannot be one of that index, or names no tail, or is malformed: skipped.
  const std::string base = R"({"txid":9,"generation":1,"owner":"o","points":[],)"
                           R"("tails":[[9,1,8,5000000,300000]],"dirs":[)";
  for (const char* dirs : {
           R"([9,1,8,5000000,[1,0,101]])",                      // the first frame is at 100
           R"([9,1,8,5000000,[1,0,100,9000,65540,50]])",        // frame offsets descend
           R"([9,1,8,5000000,[1,0,100,9000,400000,2000000]])",  // past the index
           R"([9,1,8,4999999,[1,0,100]])",                      // another object
           R"([9,1,8,5000000,[1,0]])",                          // not triples
           R"([9,1,8,5000000,[1,0,-100]])",
           R"("x")",
       }) {
    INFO(dirs);
    const auto odd = HeadRecord::from_json(base + std::string(dirs) + "]}");
    REQUIRE(odd);
    REQUIRE(odd->tails.size() == 1);
    CHECK(odd->tails[0].directory.empty());
  }
  const auto good = HeadRecord::from_json(base + R"([9,1,8,5000000,[1,0,100]]]})");
  REQUIRE(good);
  CHECK(good->tails[0].directory == std::vector<ltxvfs::ltx::IndexMark>{{1, 0, 100}});
}

TEST_CASE("head record: page 1's hint names the newest file holding it, and a bad one is skipped",
          "[head]") {
  HeadRecord r;
  r.txid = 70;
  r.owner = "o";
  r.note_page1({0, 1, 1, 5000, 60, 0});  // no page 1 in it: no hint
  CHECK_FALSE(r.page1);
  r.note_page1({0, 1, 1, 5000, 60, 4200});
  r.note_page1({0, 2, 2, 900, 40, 0});  // a newer file without page 1 changes nothing
  REQUIRE(r.page1);
  CHECK(r.page1->min_txid == 1);
  r.note_page1({0, 3, 3, 800, 40, 700});
  CHECK(r.page1->max_txid == 3);
  r.note_page1({1, 1, 3, 6000, 90, 4300});  // the same TXID at a higher level: a plan prefers it
  CHECK((r.page1->level == 1 && r.page1->page1_end == 4300));
  r.note_page1({0, 3, 3, 800, 40, 700});  // not back to the level below
  CHECK(r.page1->level == 1);
  r.note_page1({0, 2, 2, 800, 40, 700});  // nor to an older file
  CHECK(r.page1->level == 1);
  const auto back = HeadRecord::from_json(r.to_json());
  REQUIRE(back);
  CHECK(back->page1 == r.page1);
  CHECK(r.to_json().find(R"("page1":[1,1,3,6000,4300])") != std::string::npos);
  // A hint that cannot be right is dropped; the head is still a head.
  for (const char* bad : {R"([0,1,1,500])", R"([0,1,1,500,100])", R"([0,1,1,500,501])",
                          R"([10,1,1,500,200])", R"("x")", R"([0,1,1,500,-200])"}) {
    const auto odd = HeadRecord::from_json(
        std::string(R"({"txid":1,"generation":1,"owner":"o","points":[],"page1":)") + bad + "}");
    REQUIRE(odd);
    CHECK_FALSE(odd->page1);
  }
}

TEST_CASE("committed history: past the head and strays at a takeover point are left out",
          "[head]") {
  const std::vector<RemoteFile> all = {file(0, 41, 41), file(0, 42, 42), file(0, 42, 51),
                                       file(0, 52, 60), file(0, 61, 61), file(1, 1, 41),
                                       file(0, 1, 55),  file(9, 1, 41)};
  SECTION("no head: every file counts") {
    CHECK(committed_history(all, std::nullopt).files.size() == all.size());
  }
  SECTION("garbage at head.json: every file counts, and it says so") {
    const auto h = committed_history(all, ObservedHead{std::nullopt, "e"});
    CHECK(h.files.size() == all.size());
    CHECK(h.head_garbage);
  }
  SECTION("a head") {
    HeadRecord head;
    head.txid = 60;
    // A took over at 41; B at 41 too... B's first upload was 42-51, then a level-0 snapshot.
    head.points = {{42, {file(0, 42, 51).key, file(0, 1, 55).key}}};
    const auto h = committed_history(all, ObservedHead{head, "e"});
    CHECK(keys_of(h.past_head) == keys_of({file(0, 61, 61)}));
    CHECK(keys_of(h.strays) == keys_of({file(0, 42, 42)}));
    CHECK(h.files.size() == all.size() - 2);
  }
}

TEST_CASE("head keeper: a writer whose head was taken commits nothing more", "[head]") {
  const std::string dir = historytest::scratch_dir("head-keeper");
  ltxvfs::storage::FileStore store(dir + "/replica");
  HeadKeeper a(store, kLayout, [] { return HeadIdentity{"a:1:1", 1}; });
  const auto decide = [](const ltxvfs::history::History& h) { return head_txid(h); };
  CHECK(a.take(decide) == 0);
  a.advance(file(0, 1, 3), tail_hint(60));
  CHECK(a.txid() == 3);
  a.advance(file(0, 1, 3), tail_hint(60));  // again (a retried step): still fine, one hint
  HeadKeeper b(store, kLayout, [] { return HeadIdentity{"b:2:2", 2}; });
  CHECK(b.take(decide) == 3);
  CHECK_THROWS_AS(a.advance(file(0, 4, 4)), HeadLost);
  CHECK_THROWS_AS(a.take(decide), HeadLost);  // never taken back from its new owner
  b.advance(file(0, 4, 9));
  const auto h = ltxvfs::history::read_history(store, kLayout);
  REQUIRE(h.head);
  CHECK(h.head->txid == 9);
  CHECK(h.head->owner == "b:2:2");
  REQUIRE(h.head->points.size() == 2);
  CHECK(h.head->points.back().txid == 4);
  CHECK(h.head->points.back().keys == std::vector<std::string>{file(0, 4, 9).key});
  // The tail hints go on across owners: they describe objects, not who wrote them.
  CHECK(h.head->tails == std::vector<ltxvfs::history::TailHint>{{0, 1, 3, 100, 60}});

  // A compaction output's hint (noted by the history thread) goes into the next advance.
  b.note_tail(file(1, 1, 9), tail_hint(70));
  b.note_tail(file(2, 1, 9), {});  // unknown: nothing
  b.advance(file(0, 10, 10), tail_hint(50));
  const auto after = ltxvfs::history::read_history(store, kLayout);
  REQUIRE(after.head);
  CHECK(after.head->tails == std::vector<ltxvfs::history::TailHint>{
                                 {0, 1, 3, 100, 60}, {1, 1, 9, 100, 70}, {0, 10, 10, 100, 50}});
}

TEST_CASE("head keeper: hints of files written while idle are published, and compact's kept",
          "[head]") {
  // An idle writer's compaction waited for the next upload to carry its hint, and
  // `ltxvfs compact` recorded none: replicas then guessed those indexes' lengths.
  const std::string dir = historytest::scratch_dir("head-publish");
  ltxvfs::storage::FileStore store(dir + "/replica");
  const auto decide = [](const ltxvfs::history::History& h) { return head_txid(h); };
  const auto etag = [&] { return ltxvfs::history::read_head(store, kLayout)->etag; };
  using Tails = std::vector<ltxvfs::history::TailHint>;

  HeadKeeper idle(store, kLayout, [] { return HeadIdentity{"i:0:0", 1}; });
  idle.note_tail(file(1, 1, 1), tail_hint(10));
  idle.publish_noted();  // not taken: nothing written (the first advance carries it)
  CHECK_FALSE(ltxvfs::history::read_head(store, kLayout));

  HeadKeeper a(store, kLayout, [] { return HeadIdentity{"a:1:1", 1}; });
  a.take(decide);
  a.advance(file(0, 1, 3), tail_hint(60));
  const std::string advanced = etag();
  a.publish_noted();  // nothing noted: no write
  CHECK(etag() == advanced);

  a.note_tail(file(1, 1, 3), tail_hint(70));
  a.publish_noted();
  auto h = ltxvfs::history::read_head(store, kLayout);
  REQUIRE(h);
  CHECK(h->record->txid == 3);  // hints only
  CHECK(h->record->tails == Tails{{0, 1, 3, 100, 60}, {1, 1, 3, 100, 70}});

  // `ltxvfs compact` (no lease) records its output's hint; the writer goes on over it.
  CHECK(ltxvfs::history::record_hints_in_head(store, kLayout, {{file(2, 1, 3), tail_hint(80)}}));
  CHECK_FALSE(
      ltxvfs::history::record_hints_in_head(store, kLayout, {{file(2, 1, 3), tail_hint(80)}}));
  a.advance(file(0, 4, 4), tail_hint(50));
  h = ltxvfs::history::read_head(store, kLayout);
  REQUIRE(h);
  CHECK(h->record->txid == 4);
  CHECK(h->record->owner == "a:1:1");
  CHECK(h->record->tails ==
        Tails{{0, 1, 3, 100, 60}, {1, 1, 3, 100, 70}, {2, 1, 3, 100, 80}, {0, 4, 4, 100, 50}});

  // Fencing is untouched: a head another writer took is lost, hints or not.
  HeadKeeper b(store, kLayout, [] { return HeadIdentity{"b:2:2", 2}; });
  CHECK(b.take(decide) == 4);
  a.note_tail(file(1, 4, 4), tail_hint(20));
  const std::string taken = etag();
  CHECK_THROWS_AS(a.publish_noted(), HeadLost);
  CHECK(etag() == taken);
  CHECK_THROWS_AS(a.advance(file(0, 5, 5)), HeadLost);
  CHECK(ltxvfs::history::read_head(store, kLayout)->record->owner == "b:2:2");
}

TEST_CASE("head: a fenced-out writer's late upload is part of no restore", "[head]") {
  // Issue 16, item 3: A's PUT of TXID 42 was held in flight while B took over at 41; it landed
  // under a key B does not use. Without the head, a replica or restore saw A's 42 as the newest
  // state until B's first upload, and `restore --txid 42` returned A's row afterwards.
  const std::string dir = historytest::scratch_dir("head-fence");
  ltxvfs::storage::FileStore shared(dir + "/replica");
  ltxvfs::storage::FileStore elsewhere(dir + "/restored-copy");
  const auto decide = [](const ltxvfs::history::History& h) { return head_txid(h); };

  historytest::L0Writer a(shared, kLayout, {});
  HeadKeeper a_head(shared, kLayout, [] { return HeadIdentity{"a:1:1", 1}; });
  a_head.take(decide);
  for (int i = 0; i < 3; ++i) {
    const uint64_t t = a.commit(1000 + i);
    a_head.advance(file(0, t, t));
  }
  // B: a copy of the database at TXID 3 (the same three transactions).
  SwitchStore b_store(elsewhere);
  historytest::L0Writer b(b_store, kLayout, {});
  for (int i = 0; i < 3; ++i) b.commit(1000 + i);
  HeadKeeper b_head(shared, kLayout, [] { return HeadIdentity{"b:2:2", 2}; });
  CHECK(b_head.take(decide) == 3);

  // A's held PUT lands now, before B's first upload.
  CHECK(a.commit(2000) == 4);
  CHECK(ltxvfs::history::RestoreGraph(ltxvfs::history::list_ltx_files(shared, kLayout)).newest() ==
        3);
  // What every reader saw before head.json: A's TXID 4 as the newest state.
  CHECK(ltxvfs::history::RestoreGraph(ltxvfs::history::list_all_ltx_files(shared, kLayout))
            .newest() == 4);
  CHECK_THROWS_AS(a_head.advance(file(0, 4, 4)), HeadLost);

  // B continues with its own transactions 4-5.
  b.reseed(99);
  b_store.point_to(shared);
  CHECK(b.commit(3000, 2) == 5);
  b_head.advance(file(0, 4, 5));
  const auto h = ltxvfs::history::read_history(shared, kLayout);
  CHECK(keys_of(h.strays) == keys_of({file(0, 4, 4)}));
  const ltxvfs::history::RestoreGraph graph(h.files);
  CHECK(graph.newest() == 5);
  CHECK_FALSE(graph.restorable(4));
  CHECK(historytest::restore_in_memory(shared, kLayout, 5).checksum == b.checksum(5));
  CHECK(b.checksum(4) != a.checksum(4));
}
