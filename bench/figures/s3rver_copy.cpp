// W4 and W5 read a second time, from a copy of the large replica on s3rver (--s3rver). moto
// copies the whole object for every GET, ranged or not (a 4 KiB range of a 100 MiB object costs
// ~48 ms, ../shared/testing.md), which taxes a replica's ranged reads far more than the raw
// download's whole objects; s3rver answers a range in proportion to its length, as S3 does. The
// same proxy shapes both (latency per request, bandwidth per connection), so the two sets of
// rows differ only in the server behind it: what is left on s3rver is the replica's own cost.
#include "bench/figures/large_replica.h"
#include "tests/support/tcp_proxy.h"

namespace ltxvfs::bench {
namespace {

// Every object under `prefix` of `from`, put under the same key (and metadata) into `to`.
void copy_objects(const S3Bucket& from, const S3Bucket& to, const std::string& prefix) {
  auto source = from.open(prefix).store;
  auto target = to.open(prefix).store;
  for (const auto& obj : source->list("")) {
    const auto got = source->get(obj.key);
    ltxvfs::storage::PutOptions put;
    put.metadata = got.metadata;
    target->put(obj.key, got.body, put);
  }
}

}  // namespace

void run_on_s3rver_copy(const Context& ctx, const LargeReplica& on_moto, CopyRows rows,
                        const std::string& restore_name) {
  const auto bucket = ctx.s3rver_bucket("large");
  if (!bucket) return;
  LargeReplica copy = on_moto;
  copy.bucket = bucket.get();
  copy_objects(*on_moto.bucket, *bucket, copy.prefix);

  testing::TcpProxy proxy(port_of(bucket->endpoint()), distant_store(ctx));
  copy.via = "http://127.0.0.1:" + std::to_string(proxy.port());
  copy.shaping = on_moto.shaping + ", s3rver";

  measure_restore(ctx, copy, restore_name + " (" + copy.shaping + ")", rows.restore);
  if (rows.hydrate) measure_hydrate(ctx, copy);
  if (rows.w4) run_w4_cold_replica(ctx, copy);
  bucket->clear(copy.prefix);
}

}  // namespace ltxvfs::bench
