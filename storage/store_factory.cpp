#include "storage/store_factory.h"

#include "storage/file_store.h"
#include "storage/s3/s3_store.h"

namespace ltxvfs::storage {

OpenedStore open_store(std::string_view url, const StoreSettings& settings) {
  OpenedStore opened;
  opened.url = parse_replica_url(url);
  opened.stats = settings.stats ? settings.stats : std::make_shared<StoreStats>();
  StoreSettings effective = settings;
  effective.stats = opened.stats;
  if (opened.url.kind == ReplicaUrl::Kind::kS3) {
    opened.store = std::make_unique<S3Store>(opened.url, effective);
    opened.layout = LayoutStyle::kS3;
  } else {
    opened.store = std::make_unique<FileStore>(
        opened.url.path, FileStoreOptions{effective.create_if_missing, effective.stats,
                                          effective.file_mode, effective.cancel});
    opened.layout = LayoutStyle::kDirectory;
  }
  return opened;
}

}  // namespace ltxvfs::storage
