// The writer's pipeline stages on their own (no SQLite): the sync stage, and the lease keeper
// renewing on the scheduler while the upload stage is stuck in a PUT — a renewal never waits
// behind an upload.
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "base/posix_file.h"
#include "base/scheduler.h"
#include "history/writer_lease.h"
#include "storage/file_store.h"
#include "storage/replica_layout.h"
#include "tests/storage/forwarding_store.h"
#include "tests/storage/test_util.h"
#include "tests/vfs/writer_test_support.h"
#include "vfs/writer/lease_keeper.h"
#include "vfs/writer/spool.h"
#include "vfs/writer/sync_stage.h"
#include "vfs/writer/upload_stage.h"
#include "vfs/writer/uploader.h"

using namespace ltxvfs;
using namespace ltxvfs::writer;
using ltxvfs::testing::LtxHistory;
using ltxvfs::testing::TempDir;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kLayout = storage::LayoutStyle::kDirectory;

// Holds every PUT of an LTX object until released (at most 20 s: a test never hangs); the rest
// goes straight to the directory store.
class HeldPuts final : public ltxvfs::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  void release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  int held() const {
    std::lock_guard lock(mu_);
    return held_;
  }

  storage::PutResult put(const std::string& key, std::span<const uint8_t> body,
                         const storage::PutOptions& options) override {
    hold(key);
    return inner_.put(key, body, options);
  }
  storage::PutResult put_body(const std::string& key, const storage::BodySource& body,
                              const storage::PutOptions& options) override {
    hold(key);
    return inner_.put_body(key, body, options);
  }

 private:
  void hold(const std::string& key) {
    if (key.size() < 4 || key.compare(key.size() - 4, 4, ".ltx") != 0) return;
    std::unique_lock lock(mu_);
    ++held_;
    cv_.wait_for(lock, std::chrono::seconds(20), [&] { return released_; });
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  int held_ = 0;
};

history::LeaseRecord lease_in(storage::ObjectStore& store) {
  const auto got = store.get(storage::lock_key(kLayout));
  const auto record = history::LeaseRecord::from_json(
      std::string_view(reinterpret_cast<const char*>(got.body.data()), got.body.size()));
  REQUIRE(record);
  return *record;
}

}  // namespace

TEST_CASE("sync stage: a requested sync makes the spool durable and tells the uploader",
          "[stages]") {
  TempDir tmp;
  LtxHistory history;
  Spool spool(tmp.path() + "/spool", base::kDefaultFileMode);
  ErrorNote errors;
  std::atomic<int> synced{0};
  SyncStage sync(spool, errors, nullptr, [&] { ++synced; });
  sync.start();
  spool.append(history.state(1), 1, history.file(1));
  spool.append(history.state(2), 2, history.file(2));
  CHECK(spool.durable_txid() == 0);
  sync.wait(sync.request());
  CHECK(spool.durable_txid() == 2);
  CHECK(sync.syncs() >= 1);
  // The uploader is told after the waiters are released (1 run in ~20 checked too early).
  for (int i = 0; i < 500 && synced == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  CHECK(synced >= 1);
  CHECK(errors.get().empty());
  sync.stop();
  // After stop, a wait returns at once (a closing writer must not hang on it).
  sync.wait(sync.request());
}

TEST_CASE("stages: the lease is renewed while an upload is held in a PUT", "[stages]") {
  TempDir tmp;
  LtxHistory history;
  storage::FileStore files(tmp.path() + "/replica");
  HeldPuts held(files);
  // The lease on its own store (as the writer's quick store), with a short TTL so that renewals
  // come every ~100 ms.
  storage::FileStore lease_store(tmp.path() + "/replica");
  history::WriterLeaseOptions lease_options;
  lease_options.ttl = milliseconds(300);
  lease_options.renew_interval = milliseconds(100);
  auto lease = std::make_unique<history::WriterLease>(lease_store, kLayout, lease_options);

  Config config;
  config.upload_interval_ms = 0;
  config.close_timeout_ms = 5000;
  Spool spool(tmp.path() + "/db-ltx/spool", base::kDefaultFileMode);
  history::HeadKeeper head(held, kLayout, [] { return history::HeadIdentity{"test-host:1:0", 1}; });
  Uploader uploader(spool, held, kLayout, head, ltx::OutputFormat::kNative,
                    tmp.path() + "/db-ltx/upload.tmp", 0600);
  ErrorNote errors;
  base::Scheduler scheduler;
  std::string lost;
  LeaseKeeper keeper(std::move(lease), files.describe(), nullptr,
                     [&](const std::string& why) { lost = why; });
  keeper.acquire_at_open(milliseconds(0));
  REQUIRE(keeper.fresh());
  SyncStage sync(spool, errors, nullptr, nullptr);
  UploadStage upload(config, uploader, spool, sync, keeper, errors, nullptr, {});
  sync.start();
  keeper.start_renewing(scheduler);
  upload.start(0);

  spool.append(history.state(3), 1, history.range(1, 3));
  upload.notify();
  // Wait (bounded) until the upload is held in its PUT.
  for (int i = 0; i < 500 && held.held() == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  REQUIRE(held.held() == 1);
  // While it is held, the lease's expiry keeps moving: renewals do not wait for the upload.
  std::set<int64_t> expiries;
  for (int i = 0; i < 300 && expiries.size() < 4; ++i) {
    expiries.insert(lease_in(files).expires_at_ms);
    std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK(expiries.size() >= 4);
  CHECK(held.held() == 1);  // the upload was still held all along
  CHECK(keeper.fresh());
  CHECK(lost.empty());

  held.release();
  for (int i = 0; i < 500 && upload.stats().uploaded_txid < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK(upload.stats().uploaded_txid == 3);
  CHECK(upload.stats().objects_uploaded == 1);
  upload.stop();
  sync.stop();
  keeper.release();
  CHECK(lease_in(files).released());
}
