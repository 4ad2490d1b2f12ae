#include "vfs/replica/options.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "base/time_spec.h"
#include "ltx/error.h"
#include "ltx/key_source.h"
#include "vfs/replica/errors.h"

namespace ltxvfs::replica {

using base::format_rfc3339_ms;
using base::kTimeSpecHelp;
using base::now_ms;
using base::parse_time_target;

namespace {

const std::set<std::string>& sqlite_parameters() {
  static const std::set<std::string> names = {"vfs",    "mode",      "cache", "psow",
                                              "nolock", "immutable", "modeof"};
  return names;
}

// Parameters of the write path: given on a replica they are a mistake worth naming precisely.
const std::set<std::string>& primary_parameters() {
  static const std::set<std::string> names = {"format",         "durability", "upload_interval_ms",
                                              "spool_limit_mb", "page_size",  "close_timeout_ms"};
  return names;
}

[[noreturn]] void bad(const std::string& message) {
  throw ReplicaError(ReplicaErrorKind::kInvalidArgument, message);
}

uint64_t number(const std::string& key, const std::string& value, uint64_t min, uint64_t max) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n < min ||
      n > max) {
    bad("URI parameter '" + key + "' = '" + value + "': expected a whole number from " +
        std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

bool boolean(const std::string& key, const std::string& value) {
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  bad("URI parameter '" + key + "' = '" + value +
      "': expected 1 or 0 (true/false, yes/no, on/off)");
}

}  // namespace

uint32_t default_prefetch_pages(uint64_t cache_bytes) {
  // Half of the cache in 4 KiB pages: what read-ahead holds ahead of a scan (at most the window)
  // stays within the LRU beside what the scan just read. 8192 pages (32 MiB, ~17 MiB of zstd
  // frames in W4): W4's cold scan 1.15-1.19 s with 4096 (a quarter), 0.91 s with 8192, 0.91 s
  // with 16384 and a 256 MiB cache; a window of 4096 left the 8 fetch workers half idle.
  return static_cast<uint32_t>(std::clamp<uint64_t>(cache_bytes / 2 / 4096, 16, 8192));
}

const std::vector<std::string>& replica_uri_parameters() {
  static const std::vector<std::string> names = {
      "replica",  "endpoint", "region", "poll_ms", "cache_mb",
      "prefetch", "txid",     "time",   "hydrate", "encryption_key_file"};
  return names;
}

std::string ReplicaOptions::store_url() const {
  std::string out = url;
  if (out.rfind("s3://", 0) != 0) return out;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty() || out.find(std::string(key) + "=") != std::string::npos) return;
    out += (out.find('?') == std::string::npos ? "?" : "&");
    out += std::string(key) + "=" + value;
  };
  add("endpoint", endpoint);
  add("region", region);
  return out;
}

ReplicaOptions parse_replica_options(const std::string& local_path,
                                     const std::vector<std::pair<std::string, std::string>>& uri) {
  ReplicaOptions o;
  o.local_path = local_path;
  const auto& ours = replica_uri_parameters();
  std::set<std::string> seen;
  for (const auto& [key, value] : uri) {
    if (sqlite_parameters().count(key) != 0) continue;
    if (primary_parameters().count(key) != 0) {
      bad("URI parameter '" + key +
          "' configures a primary (a database written through ltx); this is a read replica "
          "(mode=ro with replica=), which does not take it");
    }
    if (std::find(ours.begin(), ours.end(), key) == ours.end()) {
      std::string known;
      for (const auto& k : ours) known += (known.empty() ? "" : ", ") + k;
      bad("unknown URI parameter '" + key + "' for a read replica; ltx replicas know: " + known);
    }
    seen.insert(key);
    if (key == "replica") {
      o.url = value;
    } else if (key == "endpoint") {
      o.endpoint = value;
    } else if (key == "region") {
      o.region = value;
    } else if (key == "poll_ms") {
      o.poll_ms = static_cast<uint32_t>(number(key, value, 10, 3600000));
    } else if (key == "cache_mb") {
      o.cache_bytes = number(key, value, 1, 1 << 20) << 20;
    } else if (key == "prefetch") {
      o.prefetch_pages = static_cast<uint32_t>(number(key, value, 0, 65536));
    } else if (key == "txid") {
      o.txid = number(key, value, 1, UINT64_MAX);
    } else if (key == "time") {
      if (!base::parse_time_target(value, 0)) {
        bad("URI parameter 'time' = '" + value + "': " + std::string(base::kTimeSpecHelp));
      }
      o.time = value;
    } else if (key == "hydrate") {
      o.hydrate = boolean(key, value);
    } else if (key == "encryption_key_file") {
      o.encryption_key_file = value;
    }
  }
  // Keys for an encrypted replica: registered for the process's decoders, which pick the one
  // each file names. Loaded here so a bad key file fails the open, not the first read.
  try {
    ltx::load_keys(o.encryption_key_file);
  } catch (const ltx::LtxError& e) {
    bad(e.what());
  }
  if (!seen.count("prefetch")) o.prefetch_pages = default_prefetch_pages(o.cache_bytes);
  if (o.url.empty()) bad("URI parameter 'replica' is empty: name the replica to read");
  if (o.txid && o.time) {
    bad("URI parameters 'txid' and 'time' both given: a replica opens at one point, pick one");
  }
  return o;
}

}  // namespace ltxvfs::replica
