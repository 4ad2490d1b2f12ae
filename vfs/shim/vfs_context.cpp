#include "vfs/shim/vfs_context.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "base/posix_file.h"
#include "storage/store_factory.h"
#include "vfs/replica/options.h"
#include "vfs/shim/base_vfs_file_access.h"
#include "vfs/shim/log.h"
#include "vfs/shim/open_databases.h"
#include "vfs/shim/primary_connection.h"
#include "vfs/shim/shim_file.h"
#include "vfs/shim/wal_mode.h"
#include "vfs/writer/config.h"
#include "vfs/writer/replicator.h"

namespace ltxvfs::vfs {
namespace {

// URI parameters SQLite itself defines (https://www.sqlite.org/uri.html) and may pass to us.
const std::set<std::string>& sqlite_uri_parameters() {
  static const std::set<std::string> names = {"vfs",    "mode",   "cache",        "psow",
                                              "nolock", "modeof", "readonly_shm", "immutable"};
  return names;
}

void check_uri_parameters(sqlite3_filename name) {
  const auto& ours = writer::known_uri_parameters();
  for (int i = 0;; ++i) {
    const char* key = sqlite3_uri_key(name, i);
    if (key == nullptr) break;
    if (sqlite_uri_parameters().count(key) != 0) continue;
    if (std::find(ours.begin(), ours.end(), key) != ours.end()) continue;
    std::string known;
    for (const auto& k : ours) known += (known.empty() ? "" : ", ") + k;
    const auto& replica_only = replica::replica_uri_parameters();
    const bool for_replicas =
        std::find(replica_only.begin(), replica_only.end(), key) != replica_only.end();
    throw SqliteError(SQLITE_CANTOPEN,
                      std::string("unknown URI parameter '") + key + "' for a primary" +
                          (for_replicas ? std::string(" (it belongs to read replicas, opened with "
                                                      "mode=ro&replica=<url>)")
                                        : std::string()) +
                          "; ltx primaries know: " + known);
  }
}

// Appends endpoint/region given as separate URI parameters to an s3:// replica URL.
std::string with_store_options(std::string url, const writer::Config& c) {
  if (url.rfind("s3://", 0) != 0) return url;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty() || url.find(std::string(key) + "=") != std::string::npos) return;
    url += (url.find('?') == std::string::npos ? "?" : "&");
    url += key;
    url += "=" + value;
  };
  add("endpoint", c.endpoint);
  add("region", c.region);
  return url;
}

}  // namespace

static_assert(sizeof(ShimFile) <= VfsContext::shim_header_size(),
              "the wrapped file must start after the ShimFile header");

VfsContext::VfsContext(sqlite3_vfs* base) : base_(base) {}
VfsContext::~VfsContext() = default;

std::unique_ptr<PrimaryConnection> VfsContext::open_database_hooks(sqlite3_filename name, int flags,
                                                                   sqlite3_file* db_file) {
  check_uri_parameters(name);
  // A read-only open of a primary database is not replicated: it cannot commit anything.
  if ((flags & SQLITE_OPEN_READONLY) != 0) return nullptr;
  const std::string path = name;
  auto file = std::make_unique<LentDbFile>(db_file);
  Shared shared = replicator_for(path, name, db_file, *file);
  if (!shared.replicator) return nullptr;
  return std::make_unique<PrimaryConnection>(std::move(shared.replicator), std::move(file),
                                             std::move(shared.loan));
}

std::shared_ptr<writer::Replicator> VfsContext::replicator_of_wal(const std::string& wal_path) {
  constexpr std::string_view kSuffix = "-wal";
  if (wal_path.size() <= kSuffix.size() ||
      wal_path.compare(wal_path.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return nullptr;
  }
  base::MutexLock lock(mu_);
  auto it = replicators_.find(wal_path.substr(0, wal_path.size() - kSuffix.size()));
  return it != replicators_.end() ? it->second.replicator.lock() : nullptr;
}

void VfsContext::before_wal_delete(const std::string& wal_path) {
  if (auto replicator = replicator_of_wal(wal_path)) replicator->before_wal_overwrite();
}

VfsContext::Shared VfsContext::replicator_for(const std::string& path, sqlite3_filename name,
                                              sqlite3_file* db_file, LentDbFile& file) {
  // The file SQLite has just opened at `path` (it is still there: nothing removed it meanwhile).
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw SqliteError(SQLITE_CANTOPEN, "cannot stat " + path + ": " + std::strerror(errno));
  }
  base::MutexLock lock(mu_);
  // Another connection of this process may be building this path's replicator: wait for it, then
  // share what it built (or, when it failed, try again: this open gets its own error).
  lock.wait(opened_cv_, [&]() REQUIRES(mu_) { return !replicators_[path].opening; });
  if (auto existing = replicators_[path].replicator.lock()) {
    const Entry& entry = replicators_[path];
    if (entry.device == st.st_dev && entry.inode == st.st_ino) {
      auto lent = entry.lent.lock();  // alive with the replicator, which owns its FileAccess
      return {existing, lent ? std::make_unique<DbFileLoan>(std::move(lent), &file) : nullptr};
    }
    // The database was deleted and created again at the same path while a connection of this
    // process still has the old file open. That connection's replicator owns the replica
    // location and ships the old file's pages: sharing it would replicate the wrong file, and a
    // second replicator would be a second writer of the same location.
    throw SqliteError(SQLITE_CANTOPEN,
                      path +
                          " was replaced by another file while a connection of this process "
                          "still has the old one open (and replicates it); close that "
                          "connection first, then open the new file");
  }
  replicators_[path].opening = true;
  lock.unlock();
  std::shared_ptr<writer::Replicator> built;
  // Lent before the replicator is built: building reads the database.
  auto lent = std::make_shared<LentDbFiles>();
  auto loan = std::make_unique<DbFileLoan>(lent, &file);
  try {
    built = build_replicator(path, name, db_file, lent);
  } catch (...) {
    lock.lock();
    replicators_[path].opening = false;
    opened_cv_.notify_all();
    throw;
  }
  lock.lock();
  Entry& entry = replicators_[path];
  entry.opening = false;
  entry.replicator = built;
  entry.lent = lent;
  entry.device = st.st_dev;
  entry.inode = st.st_ino;
  opened_cv_.notify_all();
  if (!built) loan.reset();  // not replicated: nothing reads through the file
  return {std::move(built), std::move(loan)};
}

std::shared_ptr<writer::Replicator> VfsContext::build_replicator(
    const std::string& path, sqlite3_filename name, sqlite3_file* db_file,
    std::shared_ptr<LentDbFiles> lent) {
  writer::Config config;
  try {
    config = writer::load_config(
        path,
        [&](const std::string& key) -> std::optional<std::string> {
          const char* v = sqlite3_uri_parameter(name, key.c_str());
          return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
        },
        [](const std::string& key) -> std::optional<std::string> {
          const char* v = std::getenv(key.c_str());
          return v != nullptr && *v != '\0' ? std::optional<std::string>(v) : std::nullopt;
        });
  } catch (const writer::ConfigError& e) {
    throw SqliteError(SQLITE_CANTOPEN, e.what());
  }
  // Before the replicator exists, so it never reads a database in the middle of the switch.
  try {
    ensure_wal_mode(base_, db_file, path, config.page_size);
  } catch (const SqliteError& e) {
    // Not a database (or a corrupt one): nothing can be committed to it, and SQLite reports that
    // itself at the first statement, as it would without ltx.
    if (e.code() != SQLITE_NOTADB && (e.code() & 0xff) != SQLITE_CORRUPT) throw;
    log_at(LogLevel::kWarn, "%s is not replicated: %s", path.c_str(), e.what());
    return nullptr;
  }
  // Files beside the database get its permissions, as SQLite gives them to -wal and -shm.
  config.file_mode = base::file_mode_of(path);
  writer::ReplicatorStores stores;
  try {
    const std::string url = with_store_options(config.replica_url, config);
    stores.cancel = std::make_shared<storage::Cancellation>();
    // The uploader retries forever with its own backoff; the store's own retries only smooth
    // over blips, so an outage shows in ltx_stats() within seconds.
    storage::StoreSettings settings;
    settings.log = log_store_warning;
    settings.file_mode = static_cast<mode_t>(config.file_mode);
    settings.cancel = stores.cancel;
    settings.retry.max_attempts = 4;
    settings.retry.max_total = std::chrono::milliseconds(10000);
    stores.main = storage::open_store(url, settings);
    // The open-time check and the writer lease: a store that is down or accepts connections
    // without answering must not hold the open (or a renewal) for long.
    storage::StoreSettings quick = settings;
    quick.limit_calls_to(std::chrono::milliseconds(2500));
    quick.stats = stores.main.stats;
    stores.quick = storage::open_store(url, quick).store;
  } catch (const storage::StoreError& e) {
    throw SqliteError(SQLITE_CANTOPEN, std::string("replica ") + e.what());
  }
  if (config.replica_is_default) {
    log_at(LogLevel::kInfo,
           "%s replicates to %s (no replica= given): a local directory, which does not survive "
           "losing the disk",
           path.c_str(), config.replica_url.c_str());
  }
  std::shared_ptr<writer::Replicator> replicator;
  try {
    // Leaves the process's registry (ltx_metrics()) before it is destroyed, under its lock, so
    // a metrics call never reads a closing replicator.
    replicator = std::shared_ptr<writer::Replicator>(
        new writer::Replicator(config,
                               std::make_unique<BaseVfsFileAccess>(base_, path, std::move(lent)),
                               std::move(stores), core_log_sink()),
        [](writer::Replicator* r) {
          OpenDatabases::process().remove_writer(r);
          delete r;
        });
    OpenDatabases::process().add_writer(path, replicator.get());
  } catch (const SqliteError&) {
    throw;
  } catch (const std::exception& e) {
    throw SqliteError(SQLITE_CANTOPEN, e.what());
  }
  return replicator;
}

}  // namespace ltxvfs::vfs
