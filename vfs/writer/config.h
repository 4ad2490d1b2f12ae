// Configuration of a replicated database: URI parameters first, environment variables second,
// documented defaults last (README.md, "Configuration"). SQLite-free: the shim passes lookups.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "history/history_policy.h"
#include "ltx/encoder.h"
#include "ltx/encryption_key.h"

namespace ltxvfs::writer {

enum class Durability { kLocal, kRemote };

struct Config {
  std::string db_path;      // absolute path of the database file
  std::string sidecar_dir;  // <db>-ltx: spool, state, lock, and the default replica
  std::string replica_url;  // where LTX files go
  bool replica_is_default = false;
  ltx::OutputFormat format = ltx::OutputFormat::kNative;
  Durability durability = Durability::kLocal;
  uint32_t upload_interval_ms = 1000;
  uint64_t spool_limit_bytes = uint64_t{1} << 30;
  uint32_t close_timeout_ms = 5000;
  // With durability=remote: how long a commit waits for the store's acknowledgement before it
  // returns anyway (and the next write transaction is refused until the store has caught up).
  uint32_t remote_timeout_ms = 10000;
  // How long opening waits for another writer's lease on the replica location to be released
  // (a deploy that starts the new process before the old one has closed).
  uint32_t lease_wait_ms = 10000;
  // The lease's TTL while the writer is idle (no commit for a minute), renewed every half of it
  // (vfs/writer/lease_keeper.h): 0.4 PUTs a minute instead of 6, but a crashed idle writer holds
  // its location this long against a writer on another host (30 s when active). 0: never idle.
  uint32_t lease_idle_ttl_ms = 300000;
  // Page size for a new (empty) database, applied before WAL mode is enabled (after that SQLite
  // cannot change it). 0: SQLite's default.
  uint32_t page_size = 0;
  // Permission bits for the files ltx creates beside the database (spool, state, lock, the
  // default replica): the database file's own, set when it is opened (not a parameter).
  uint32_t file_mode = 0644;
  // Compaction levels, snapshots and retention of the remote history (history_policy.h).
  history::HistoryPolicy history;
  // Passed through to the object store (S3): endpoint and region override the replica URL's.
  std::string endpoint;
  std::string region;
  // Encrypts every file written (docs/SECURITY.md): from URI encryption_key_file=PATH, else the
  // environment's LTX_ENCRYPTION_KEY (the first key of a list writes; all of them read).
  ltx::KeyPtr encryption_key;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Looks a name up; nullopt when absent.
using Lookup = std::function<std::optional<std::string>(const std::string& name)>;

// The URI parameters this project defines (SQLite's own are accepted by the shim separately).
const std::vector<std::string>& known_uri_parameters();

// Builds the configuration of the database at `db_path`. Throws ConfigError naming the parameter
// and the accepted values on bad input.
Config load_config(const std::string& db_path, const Lookup& uri, const Lookup& env);

}  // namespace ltxvfs::writer
