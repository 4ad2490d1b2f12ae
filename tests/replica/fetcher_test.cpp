// The page fetcher (vfs/replica/page_fetcher.h) without SQLite: what a read asks of it and what it
// fetches ahead, over a model primary's directory replica.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/replica/engine_support.h"
#include "tests/replica/model_replica.h"
#include "tests/storage/forwarding_store.h"
#include "vfs/replica/page_cache.h"
#include "vfs/replica/page_fetcher.h"
#include "vfs/replica/replica.h"

using namespace ltxvfs::replica;
using ltxvfs::testing::ModelPrimary;
using namespace replicatest;

namespace {

// A model primary of 50 pages in one commit, and a replica's plan of it.
struct Primary {
  explicit Primary(const std::string& name)
      : dir(fresh_dir(name)), model(dir, 1024), options(options_for(dir)) {
    options.prefetch_pages = 0;  // the replica only plans; the tests' own fetchers fetch
    for (uint32_t p = 1; p <= 50; ++p) model.set(p, 1);
    model.commit();
    location = location_for(options);
    replica = std::make_unique<Replica>(options, location, nullptr);
    snap = replica->pin();
  }
  std::string dir;
  ModelPrimary model;
  ReplicaOptions options;
  std::shared_ptr<Location> location;
  std::unique_ptr<Replica> replica;
  std::shared_ptr<const Snapshot> snap;
};

// Holds every ranged GET until open() is called.
class GatedStore final : public ltxvfs::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  ltxvfs::storage::GetResult get(const std::string& key,
                                 std::optional<ltxvfs::storage::ByteRange> range) override {
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    }
    return inner_.get(key, range);
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits up to 10 s until `n` GETs have arrived; false when they did not.
  bool wait_for_gets(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// Polls `done` for up to 10 s.
bool eventually(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace

TEST_CASE("page fetcher: a read's fetch window is worked out only when the read misses",
          "[replica][unit]") {
  // In a scan nearly every read hits the cache (read-ahead got there first). Working out each
  // read's window of up to `prefetch` frames anyway was 80 % of a cold scan's CPU: a 120 MB
  // scan of a directory replica took 2.6 s, 0.13 s without it.
  Primary primary("fetcher-window");
  const ModelPrimary& m = primary.model;
  const auto& snap = primary.snap;
  const auto& location = primary.location;
  PageFetcher fetcher(location->store(), location->cache(), FetcherSettings{}, nullptr);
  int asked = 0;
  const auto window = [&] {
    ++asked;
    return PageFetcher::Window{{*snap->locate(8), *snap->locate(9)}};
  };
  const FrameRef seven = *snap->locate(7);
  const PageBytes first = fetcher.get(seven, {}, window);  // a miss: asked once
  CHECK(asked == 1);
  CHECK(fetcher.stats().readahead_pages == 2);             // 8 and 9 joined its request
  const PageBytes again = fetcher.get(seven, {}, window);  // a hit: not asked
  CHECK(asked == 1);
  CHECK(*again == *first);
  CHECK(*fetcher.get(*snap->locate(8), {}, window) == m.page_at(snap->txid(), 8));
  CHECK(asked == 1);
}

TEST_CASE("page fetcher: a read that waits for a GET in flight still queues its read-ahead",
          "[replica][unit]") {
  // The read tracker hands each page of read-ahead out once. A scan's read that caught up with
  // the prefetcher (its page already being fetched) dropped the advice it carried, and those
  // pages were fetched only when read, a round trip at a time (W4's scan with prefetch=1024:
  // 2.7-2.9 s before, 1.9-2.0 s after).
  Primary primary("fetcher-wait-along");
  const ModelPrimary& m = primary.model;
  const auto& snap = primary.snap;
  GatedStore gated(primary.location->store());
  PageCache cache(uint64_t{1} << 20);
  FetcherSettings settings;
  settings.prefetch_workers = 1;
  settings.max_gap = 0;  // page 7 alone in its request, pages 20-22 in another
  PageFetcher fetcher(gated, cache, settings, nullptr);

  const FrameRef seven = *snap->locate(7);
  fetcher.prefetch({seven});  // the prefetcher's GET of page 7 is held
  REQUIRE(gated.wait_for_gets(1));
  const std::vector<FrameRef> along = {*snap->locate(20), *snap->locate(21), *snap->locate(22)};
  PageBytes got;
  std::thread reader([&] { got = fetcher.get(seven, along); });  // waits for that GET
  // Its read-ahead is queued while it waits: 1 frame before, 4 after.
  const bool queued = eventually([&] {
    const auto s = fetcher.stats();
    return s.shared_waits == 1 && s.prefetch_queued == 4;
  });
  gated.open();
  reader.join();
  CHECK(queued);
  REQUIRE(got);
  CHECK(*got == m.page_at(snap->txid(), 7));
  // And fetched, in one more request of the prefetcher, none of the reader's own.
  // (A request is counted once it ended, after its pages were handed out.)
  CHECK(eventually([&] { return fetcher.stats().requests == 2; }));
  const auto s = fetcher.stats();
  CHECK(s.prefetch_pages == 4);
  CHECK(s.prefetch_requests == 2);
  for (const FrameRef& f : along) {
    const PageBytes page = cache.get({f.file->serial, f.pgno});
    REQUIRE(page);
    CHECK(*page == m.page_at(snap->txid(), f.pgno));
  }
}
