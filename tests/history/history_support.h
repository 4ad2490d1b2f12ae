// Test support for the history engine: a simulated clock the store's LastModified follows (so
// hours of history run in seconds), a writer that uploads level-0 files as the real one does (a
// model database, every TXID's image or checksum remembered), and restores through the
// production planner and applier.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "history/restore_plan.h"
#include "ltx/checksum.h"
#include "ltx/encoder.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"
#include "vfs/writer/config.h"

namespace historytest {

using Bytes = std::vector<uint8_t>;
using ltxvfs::history::RemoteFile;
using ltxvfs::ltx::OutputFormat;
using ltxvfs::storage::LayoutStyle;
using ltxvfs::storage::ObjectStore;

// A store decorator whose objects' LastModified is the simulated time at which they were put, and
// which counts requests.
class SimTimeStore final : public ObjectStore {
 public:
  SimTimeStore(ObjectStore& inner, const std::atomic<int64_t>& now_ms)
      : inner_(inner), now_(now_ms) {}

  ltxvfs::storage::PutResult put(const std::string& key, std::span<const uint8_t> body,
                                 const ltxvfs::storage::PutOptions& options = {}) override;
  ltxvfs::storage::PutResult put_body(const std::string& key,
                                      const ltxvfs::storage::BodySource& body,
                                      const ltxvfs::storage::PutOptions& options = {}) override;
  ltxvfs::storage::GetResult get(
      const std::string& key,
      std::optional<ltxvfs::storage::ByteRange> range = std::nullopt) override;
  std::optional<ltxvfs::storage::ObjectInfo> head(const std::string& key) override;
  std::vector<ltxvfs::storage::ObjectInfo> list(const std::string& prefix,
                                                const std::string& start_after = "") override;
  void remove(const std::vector<std::string>& keys) override;
  std::string describe() const override { return inner_.describe(); }

  std::atomic<uint64_t> puts{0}, put_bytes{0}, gets{0}, get_bytes{0}, lists{0}, deletes{0};

 private:
  int64_t time_of(const std::string& key, int64_t fallback);

  ObjectStore& inner_;
  const std::atomic<int64_t>& now_;
  std::mutex mu_;
  std::map<std::string, int64_t> put_at_;
};

// A small database whose every transaction is uploaded as a level-0 LTX file, like the writer's
// uploader does. Remembers the database checksum of every TXID (and, with keep_images, the whole
// image) so restores can be checked byte for byte.
class L0Writer {
 public:
  struct Options {
    OutputFormat format = OutputFormat::kNative;
    uint32_t page_size = 512;
    uint32_t initial_pages = 12;
    uint32_t max_pages = 40;
    bool keep_images = true;
    uint64_t seed = 1;
  };
  L0Writer(ObjectStore& store, LayoutStyle layout, Options options);

  // Commits `count` transactions (each changes a few pages, now and then grows or shrinks the
  // database) and uploads them as one level-0 object, stamped `now_ms`. Returns the new TXID.
  uint64_t commit(int64_t now_ms, int count = 1);
  // From now on the transactions differ from another writer's with the same seed (a fork).
  void reseed(uint64_t seed) { rng_.seed(seed); }

  uint64_t txid() const { return txid_; }
  uint32_t page_size() const { return options_.page_size; }
  // The database after `txid`.
  uint64_t checksum(uint64_t txid) const { return checksums_.at(txid); }
  const Bytes& image(uint64_t txid) const { return images_.at(txid); }
  uint64_t bytes_uploaded() const { return bytes_uploaded_; }
  uint64_t database_bytes() const { return uint64_t{commit_} * options_.page_size; }

 private:
  ltxvfs::ltx::EncodeOptions encode_options() const;

  ObjectStore& store_;
  LayoutStyle layout_;
  Options options_;
  std::mt19937_64 rng_;
  std::map<uint32_t, Bytes> pages_;
  std::map<uint32_t, uint64_t> sums_;
  ltxvfs::ltx::DatabaseChecksum db_sum_;
  uint32_t commit_ = 0;
  uint64_t txid_ = 0;
  uint64_t bytes_uploaded_ = 0;
  std::vector<uint64_t> checksums_{0};  // [txid]
  std::vector<Bytes> images_{Bytes{}};  // [txid] when keep_images
};

struct Restored {
  Bytes image;
  uint64_t checksum = 0;
  size_t files = 0;
  uint64_t bytes = 0;
};

// Restores `txid` by the production planner (fewest files) and applier, in memory.
Restored restore_in_memory(ObjectStore& store, LayoutStyle layout, uint64_t txid);
Restored restore_in_memory(ObjectStore& store, const std::vector<RemoteFile>& files, uint64_t txid);

// Every restorable TXID of the store.
std::vector<uint64_t> restorable_txids(ObjectStore& store, LayoutStyle layout);

// A fresh directory under the build tree (removed when the test passes).
std::string scratch_dir(const std::string& name);

// The `ltxvfs` command's exit status (-1: killed) and its stdout and stderr, interleaved.
struct CliResult {
  int status = -1;
  std::string output;
};
// Runs `ltxvfs ARGS...` (each argument shell-quoted) with `env` ("NAME=value ...") before it.
CliResult cli(const std::vector<std::string>& args, const std::string& env = "");
std::string shell_quote(const std::string& s);

// Bytes of every LTX file, per level.
std::map<uint32_t, std::pair<size_t, uint64_t>> level_totals(const std::vector<RemoteFile>& files);

}  // namespace historytest
