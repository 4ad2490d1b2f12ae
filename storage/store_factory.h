// open_store: from a replica location string to a ready ObjectStore and its key layout.
#pragma once

#include <memory>
#include <string_view>

#include "storage/object_store.h"
#include "storage/replica_layout.h"
#include "storage/replica_url.h"
#include "storage/store_settings.h"
#include "storage/store_stats.h"

namespace ltxvfs::storage {

struct OpenedStore {
  std::unique_ptr<ObjectStore> store;
  LayoutStyle layout = LayoutStyle::kS3;  // s3:// → kS3; file:// and directories → kDirectory
  ReplicaUrl url;
  std::shared_ptr<StoreStats> stats;  // the store's request/byte counters (never null)
};

// Parses `url` (see replica_url.h) and opens the store. Throws StoreError: kInvalidArgument for a
// malformed location, kBadCredentials when S3 credentials are missing, kNoSuchBucket for a
// missing directory with create_if_missing = false. Does not contact the network.
OpenedStore open_store(std::string_view url, const StoreSettings& settings = {});

}  // namespace ltxvfs::storage
