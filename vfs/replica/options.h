// The URI parameters of a read replica (docs/REPLICA.md):
//
//   file:cache.db?vfs=ltx&mode=ro&replica=<url>[&endpoint=..&region=..][&poll_ms=1000]
//        [&cache_mb=64][&prefetch=64][&txid=N | &time=<when>][&hydrate=1]
//
// Parsing is SQLite-free: the shim hands over every (key, value) pair of the URI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ltxvfs::replica {

struct ReplicaOptions {
  std::string url;         // replica=: s3://bucket/prefix, file:///dir or a directory
  std::string local_path;  // the file name SQLite opened (only used by hydrate=1)
  std::string endpoint;    // s3 only: overrides the URL's endpoint= (like a primary's endpoint=)
  std::string region;
  uint32_t poll_ms = 1000;                    // how often to look for new LTX files
  uint64_t cache_bytes = uint64_t{64} << 20;  // LRU of decompressed pages (cache_mb)
  uint32_t prefetch_pages = 8192;   // read-ahead/prefetch window in pages; 0 = off; when not
                                    // given: default_prefetch_pages(cache_bytes)
  std::optional<uint64_t> txid;     // open at this TXID (time travel)
  std::optional<std::string> time;  // open at this time (RFC 3339, 'N minutes ago')
  bool hydrate = false;             // download the whole database into local_path
  // Keys of an encrypted replica (else LTX_ENCRYPTION_KEY); never the key itself in a URI.
  std::string encryption_key_file;
  // Not a URI parameter: whether the poller reads the rest of the long page indexes right after
  // the open (lazy_index.h). The engine's tests turn it off to watch lookups read parts.
  bool load_indexes_after_open = true;

  // The store URL with endpoint/region folded in as query parameters (s3:// only).
  std::string store_url() const;
};

// prefetch= when not given: half of cache_mb in 4 KiB pages, 16..8192.
uint32_t default_prefetch_pages(uint64_t cache_bytes);

// The parameters a replica understands (SQLite's own — vfs, mode, cache, psow, nolock, immutable,
// modeof — are accepted separately).
const std::vector<std::string>& replica_uri_parameters();

// Builds the options from every URI parameter of the open. Throws ReplicaError(kInvalidArgument)
// naming the parameter and what is accepted: unknown parameters, parameters that only a primary
// takes, malformed numbers, txid= together with time=.
ReplicaOptions parse_replica_options(const std::string& local_path,
                                     const std::vector<std::pair<std::string, std::string>>& uri);

}  // namespace ltxvfs::replica
