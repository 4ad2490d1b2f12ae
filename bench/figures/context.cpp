#include "bench/figures/figures.h"

namespace ltxvfs::bench {

std::unique_ptr<S3Bucket> Context::moto_bucket(const std::string& hint) const {
  if (!options.moto) return nullptr;
  return std::make_unique<S3Bucket>("moto", *options.moto, hint);
}

std::unique_ptr<S3Bucket> Context::s3rver_bucket(const std::string& hint) const {
  if (!options.s3rver) return nullptr;
  return std::make_unique<S3Bucket>("s3rver", *options.s3rver, hint);
}

void Context::unavailable(const std::string& figure, const std::string& name,
                          const std::string& why) const {
  Row row;
  row.figure = figure;
  row.name = name;
  row.unavailable = why;
  report.add(std::move(row));
}

}  // namespace ltxvfs::bench
