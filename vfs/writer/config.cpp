#include "vfs/writer/config.h"

#include <charconv>

#include "history/writer_lease.h"
#include "ltx/error.h"
#include "ltx/key_source.h"
#include "vfs/writer/replica_template.h"

namespace ltxvfs::writer {
namespace {

struct Setting {
  const char* uri;
  const char* env;
};
constexpr Setting kReplica{"replica", "LTX_REPLICA_URL"};
constexpr Setting kReplicaRoot{"replica_root", "LTX_REPLICA_ROOT"};
constexpr Setting kFormat{"format", "LTX_FORMAT"};
constexpr Setting kDurability{"durability", "LTX_DURABILITY"};
constexpr Setting kUploadInterval{"upload_interval_ms", "LTX_UPLOAD_INTERVAL_MS"};
constexpr Setting kSpoolLimit{"spool_limit_mb", "LTX_SPOOL_LIMIT_MB"};
constexpr Setting kCloseTimeout{"close_timeout_ms", "LTX_CLOSE_TIMEOUT_MS"};
constexpr Setting kRemoteTimeout{"remote_timeout_ms", "LTX_REMOTE_TIMEOUT_MS"};
constexpr Setting kLeaseWait{"lease_wait_ms", "LTX_LEASE_WAIT_MS"};
constexpr Setting kLeaseIdleTtl{"lease_idle_ttl_ms", "LTX_LEASE_IDLE_TTL_MS"};
constexpr Setting kPageSize{"page_size", nullptr};
// The store reads AWS_ENDPOINT_URL / AWS_REGION itself; these are URI-only overrides.
constexpr Setting kEndpoint{"endpoint", nullptr};
constexpr Setting kRegion{"region", nullptr};
// The key itself is only ever in the environment (LTX_ENCRYPTION_KEY) or in a file: URIs get
// logged and shown.
constexpr Setting kEncryptionKeyFile{"encryption_key_file", "LTX_ENCRYPTION_KEY_FILE"};

std::optional<std::string> get(const Setting& s, const Lookup& uri, const Lookup& env) {
  if (auto v = uri(s.uri)) return v;
  if (s.env == nullptr) return std::nullopt;
  return env(s.env);
}

// The writing key, registered for the process's readers too. Errors never quote key text.
ltx::KeyPtr load_encryption_key(const Config& c, const Lookup& uri, const Lookup& env) {
  ltx::KeyRing ring;
  try {
    if (auto file = get(kEncryptionKeyFile, uri, env); file && !file->empty()) {
      ring = ltx::read_key_file(*file);
    } else if (auto text = env(ltx::kKeyEnvVar); text && !text->empty()) {
      ring = ltx::KeyRing::parse(*text);
    }
  } catch (const ltx::LtxError& e) {
    throw ConfigError(e.what());
  }
  if (ring.empty()) return nullptr;
  if (c.format == ltx::OutputFormat::kLitestream) {
    throw ConfigError(
        "format=litestream cannot be encrypted: Litestream reads no encrypted page. Use "
        "format=native (the default) with an encryption key, or remove the key (" +
        std::string(ltx::kKeyEnvVar) + ", encryption_key_file=)");
  }
  ltx::register_keys(ring);
  return ring.writer();
}

std::string source_of(const Setting& s, const Lookup& uri) {
  return uri(s.uri) ? std::string("URI parameter '") + s.uri + "'"
                    : std::string("environment variable ") + s.env;
}

uint64_t get_number(const Setting& s, const Lookup& uri, const Lookup& env, uint64_t fallback,
                    uint64_t max) {
  auto v = get(s, uri, env);
  if (!v) return fallback;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n > max) {
    throw ConfigError(source_of(s, uri) + " = '" + *v + "': expected a whole number from 0 to " +
                      std::to_string(max));
  }
  return n;
}

uint32_t load_lease_idle_ttl(const Lookup& uri, const Lookup& env, uint32_t fallback) {
  // Takers believe a holder's record for at most kMaxHolderTtl (10 min), so a longer one would
  // not be honoured; a shorter one than the normal TTL (30 s) would renew more often, not less.
  const auto max = static_cast<uint64_t>(history::kMaxHolderTtl.count());
  const auto min = static_cast<uint64_t>(history::kDefaultTtl.count());
  const uint64_t ms = get_number(kLeaseIdleTtl, uri, env, fallback, max);
  if (ms != 0 && ms < min) {
    throw ConfigError(source_of(kLeaseIdleTtl, uri) + " = " + std::to_string(ms) +
                      ": expected 0 (never idle) or from " + std::to_string(min) + " (the normal " +
                      "lease TTL) to " + std::to_string(max));
  }
  return static_cast<uint32_t>(ms);
}

}  // namespace

const std::vector<std::string>& known_uri_parameters() {
  static const std::vector<std::string> names = {kReplica.uri,
                                                 kReplicaRoot.uri,
                                                 kFormat.uri,
                                                 kDurability.uri,
                                                 kUploadInterval.uri,
                                                 kSpoolLimit.uri,
                                                 kCloseTimeout.uri,
                                                 kRemoteTimeout.uri,
                                                 kLeaseWait.uri,
                                                 kLeaseIdleTtl.uri,
                                                 kEndpoint.uri,
                                                 kRegion.uri,
                                                 kEncryptionKeyFile.uri,
                                                 kPageSize.uri,
                                                 std::string(history::kLevelsParam),
                                                 std::string(history::kSnapshotIntervalParam),
                                                 std::string(history::kRetentionParam),
                                                 std::string(history::kRetentionGraceParam)};
  return names;
}

Config load_config(const std::string& db_path, const Lookup& uri, const Lookup& env) {
  Config c;
  c.db_path = db_path;
  c.sidecar_dir = db_path + "-ltx";
  if (auto v = get(kReplica, uri, env); v && !v->empty()) {
    c.replica_url = expand_replica_template(*v, db_path, get(kReplicaRoot, uri, env));
  } else {
    c.replica_url = c.sidecar_dir + "/replica";
    c.replica_is_default = true;
  }
  if (auto v = get(kFormat, uri, env)) {
    if (*v == "native") {
      c.format = ltx::OutputFormat::kNative;
    } else if (*v == "litestream") {
      c.format = ltx::OutputFormat::kLitestream;
    } else {
      throw ConfigError(source_of(kFormat, uri) + " = '" + *v +
                        "': expected 'native' (zstd pages, checksums) or 'litestream' (what "
                        "litestream restore v0.5 reads)");
    }
  }
  if (auto v = get(kDurability, uri, env)) {
    if (*v == "local") {
      c.durability = Durability::kLocal;
    } else if (*v == "remote") {
      c.durability = Durability::kRemote;
    } else {
      throw ConfigError(source_of(kDurability, uri) + " = '" + *v +
                        "': expected 'local' (commit returns once SQLite has it) or 'remote' "
                        "(commit returns once the store has acknowledged it)");
    }
  }
  c.upload_interval_ms =
      static_cast<uint32_t>(get_number(kUploadInterval, uri, env, c.upload_interval_ms, 3600000));
  c.spool_limit_bytes = get_number(kSpoolLimit, uri, env, 1024, uint64_t{1} << 30) << 20;
  c.close_timeout_ms =
      static_cast<uint32_t>(get_number(kCloseTimeout, uri, env, c.close_timeout_ms, 3600000));
  c.remote_timeout_ms =
      static_cast<uint32_t>(get_number(kRemoteTimeout, uri, env, c.remote_timeout_ms, 3600000));
  c.lease_wait_ms =
      static_cast<uint32_t>(get_number(kLeaseWait, uri, env, c.lease_wait_ms, 3600000));
  c.lease_idle_ttl_ms = load_lease_idle_ttl(uri, env, c.lease_idle_ttl_ms);
  c.page_size = static_cast<uint32_t>(get_number(kPageSize, uri, env, 0, 65536));
  if (c.page_size != 0 && (c.page_size < 512 || (c.page_size & (c.page_size - 1)) != 0)) {
    throw ConfigError("URI parameter 'page_size' = " + std::to_string(c.page_size) +
                      ": expected a power of two from 512 to 65536");
  }
  try {
    c.history = history::load_history_policy(uri, env);
  } catch (const history::HistoryPolicyError& e) {
    throw ConfigError(e.what());
  }
  c.endpoint = get(kEndpoint, uri, env).value_or("");
  c.region = get(kRegion, uri, env).value_or("");
  c.encryption_key = load_encryption_key(c, uri, env);
  return c;
}

}  // namespace ltxvfs::writer
