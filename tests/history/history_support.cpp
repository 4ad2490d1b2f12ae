#include "history_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "base/time_spec.h"
#include "ltx/applier.h"
#include "ltx/checksum.h"
#include "ltx/sink.h"
#include "ltx/source.h"

namespace historytest {

using namespace ltxvfs;

// ---- SimTimeStore ----------------------------------------------------------------------------

int64_t SimTimeStore::time_of(const std::string& key, int64_t fallback) {
  std::lock_guard lock(mu_);
  auto it = put_at_.find(key);
  return it == put_at_.end() ? fallback : it->second;
}

storage::PutResult SimTimeStore::put(const std::string& key, std::span<const uint8_t> body,
                                     const storage::PutOptions& options) {
  auto r = inner_.put(key, body, options);
  ++puts;
  put_bytes += body.size();
  std::lock_guard lock(mu_);
  put_at_[key] = now_.load();
  return r;
}

storage::PutResult SimTimeStore::put_body(const std::string& key, const storage::BodySource& body,
                                          const storage::PutOptions& options) {
  auto r = inner_.put_body(key, body, options);
  ++puts;
  put_bytes += body.size();
  std::lock_guard lock(mu_);
  put_at_[key] = now_.load();
  return r;
}

storage::GetResult SimTimeStore::get(const std::string& key,
                                     std::optional<storage::ByteRange> range) {
  auto r = inner_.get(key, range);
  ++gets;
  get_bytes += r.body.size();
  r.last_modified_ms = time_of(key, r.last_modified_ms);
  return r;
}

std::optional<storage::ObjectInfo> SimTimeStore::head(const std::string& key) {
  auto r = inner_.head(key);
  if (r) r->last_modified_ms = time_of(key, r->last_modified_ms);
  return r;
}

std::vector<storage::ObjectInfo> SimTimeStore::list(const std::string& prefix,
                                                    const std::string& start_after) {
  auto r = inner_.list(prefix, start_after);
  ++lists;
  for (auto& o : r) o.last_modified_ms = time_of(o.key, o.last_modified_ms);
  return r;
}

void SimTimeStore::remove(const std::vector<std::string>& keys) {
  inner_.remove(keys);
  deletes += keys.size();
  std::lock_guard lock(mu_);
  for (const auto& k : keys) put_at_.erase(k);
}

// ---- L0Writer --------------------------------------------------------------------------------

L0Writer::L0Writer(ObjectStore& store, LayoutStyle layout, Options options)
    : store_(store), layout_(layout), options_(options), rng_(options.seed) {}

ltx::EncodeOptions L0Writer::encode_options() const {
  return options_.format == OutputFormat::kLitestream ? ltx::EncodeOptions::litestream()
                                                      : ltx::EncodeOptions::native();
}

uint64_t L0Writer::commit(int64_t now_ms, int count) {
  const uint32_t ps = options_.page_size;
  const uint64_t pre = db_sum_.value();
  std::set<uint32_t> changed;
  auto set_page = [&](uint32_t pgno) {
    Bytes page(ps, 0);
    for (uint32_t i = 0; i < ps / 2; ++i) page[i] = static_cast<uint8_t>(rng_());
    auto it = sums_.find(pgno);
    if (it != sums_.end()) db_sum_.toggle(it->second);
    const uint64_t sum = ltx::page_checksum(pgno, page);
    db_sum_.toggle(sum);
    sums_[pgno] = sum;
    pages_[pgno] = std::move(page);
    changed.insert(pgno);
  };
  auto resize = [&](uint32_t commit) {
    while (!pages_.empty() && pages_.rbegin()->first > commit) {
      const uint32_t pgno = pages_.rbegin()->first;
      db_sum_.toggle(sums_.at(pgno));
      sums_.erase(pgno);
      pages_.erase(pgno);
      changed.erase(pgno);
    }
    for (uint32_t p = commit_ + 1; p <= commit; ++p) set_page(p);
    commit_ = commit;
  };
  const uint64_t first = txid_ + 1;
  for (int n = 0; n < count; ++n) {
    ++txid_;
    if (txid_ == 1) {
      resize(options_.initial_pages);
    } else {
      const uint64_t op = rng_() % 10;
      if (op == 0 && commit_ < options_.max_pages) {
        resize(commit_ + 1 + static_cast<uint32_t>(rng_() % 3));
      } else if (op == 1 && commit_ > 4) {
        resize(commit_ - 1 - static_cast<uint32_t>(rng_() % 2));
      }
      const int pages = 1 + static_cast<int>(rng_() % 3);
      for (int i = 0; i < pages; ++i) set_page(1 + static_cast<uint32_t>(rng_() % commit_));
    }
    checksums_.push_back(db_sum_.value());
    if (options_.keep_images) {
      Bytes image(uint64_t{commit_} * ps, 0);
      for (const auto& [pgno, data] : pages_) {
        std::copy(data.begin(), data.end(), image.begin() + std::ptrdiff_t{pgno - 1} * ps);
      }
      images_.push_back(std::move(image));
    } else {
      images_.emplace_back();
    }
  }

  ltx::Header h;
  h.page_size = ps;
  h.commit = commit_;
  h.min_txid = first == 1 ? 1 : first;
  h.max_txid = txid_;
  h.timestamp_ms = now_ms;
  h.pre_apply_checksum = first == 1 ? 0 : pre;
  ltx::VectorSink sink;
  ltx::Encoder enc(sink, h, encode_options(), "L0 " + std::to_string(txid_));
  // A snapshot holds every page; otherwise every page changed (or grown into) since the group's
  // first TXID that is still in the database.
  if (first == 1) {
    for (const auto& [pgno, data] : pages_) changed.insert(pgno);
  }
  for (uint32_t pgno : changed) enc.add_page(pgno, pages_.at(pgno));
  enc.finish(db_sum_.value());
  storage::PutOptions put;
  put.if_none_match = true;
  put.metadata["litestream-timestamp"] = ltxvfs::base::format_rfc3339_ms(now_ms);
  store_.put(storage::ltx_key(layout_, 0, first, txid_), sink.bytes(), put);
  bytes_uploaded_ += sink.bytes().size();
  return txid_;
}

// ---- restores --------------------------------------------------------------------------------

namespace {

class MemoryPageWriter final : public ltx::PageWriter {
 public:
  void write_page(uint32_t pgno, std::span<const uint8_t> page) override {
    const size_t offset = size_t{pgno - 1} * page.size();
    if (db.size() < offset + page.size()) db.resize(offset + page.size(), 0);
    std::copy(page.begin(), page.end(), db.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  void truncate(uint32_t commit, uint32_t page_size) override {
    db.resize(size_t{commit} * page_size, 0);
  }
  Bytes db;
};

}  // namespace

Restored restore_in_memory(ObjectStore& store, const std::vector<RemoteFile>& files,
                           uint64_t txid) {
  const auto plan = ltxvfs::history::plan_restore(files, txid);
  MemoryPageWriter writer;
  ltx::ChainApplier applier(writer);
  Restored r;
  for (const auto& f : plan) {
    auto got = store.get(f.key);
    r.bytes += got.body.size();
    ltx::MemorySource src(got.body);
    applier.apply(src, f.key);
  }
  r.image = std::move(writer.db);
  r.checksum = applier.state().checksum;
  r.files = plan.size();
  return r;
}

Restored restore_in_memory(ObjectStore& store, LayoutStyle layout, uint64_t txid) {
  return restore_in_memory(store, ltxvfs::history::list_ltx_files(store, layout), txid);
}

std::vector<uint64_t> restorable_txids(ObjectStore& store, LayoutStyle layout) {
  return ltxvfs::history::RestoreGraph(ltxvfs::history::list_ltx_files(store, layout))
      .restorable_txids();
}

std::string scratch_dir(const std::string& name) {
  // tmpfs when there is one: these tests put tens of thousands of objects, and a directory store
  // fsyncs each one (which is what it should do, and not what is tested here).
  static const std::string base = [] {
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) {
      return "/dev/shm/ltxvfs-history-" + std::to_string(::getuid());
    }
    return std::string(LTXVFS_HISTORY_SCRATCH_DIR);
  }();
  // Everything this process made goes when it exits (LTXVFS_KEEP_SCRATCH=1 keeps it to look at).
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      const char* keep = std::getenv("LTXVFS_KEEP_SCRATCH");
      std::error_code ec;
      if (keep == nullptr || std::string(keep) != "1") std::filesystem::remove_all(dir, ec);
    }
  };
  static const Cleanup cleanup{base + "/" + std::to_string(::getpid())};
  const std::string dir = cleanup.dir + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::map<uint32_t, std::pair<size_t, uint64_t>> level_totals(const std::vector<RemoteFile>& files) {
  std::map<uint32_t, std::pair<size_t, uint64_t>> out;
  for (const auto& f : files) {
    out[f.level].first++;
    out[f.level].second += f.size;
  }
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

CliResult cli(const std::vector<std::string>& args, const std::string& env) {
  std::string command = env + " " + shell_quote(LTXVFS_CLI_PATH);
  for (const auto& a : args) command += " " + shell_quote(a);
  command += " 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed for: " + command);
  CliResult r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace historytest
