// S3Store's PUT: the body streamed with its SHA-256 signed (see execute), conditional on
// If-None-Match or If-Match, with the caller's metadata as x-amz-meta-* headers.
#include "storage/s3/s3_store.h"
#include "storage/s3/s3_store_op.h"
#include "storage/validation.h"

namespace ltxvfs::storage {

PutResult S3Store::put(const std::string& key, std::span<const uint8_t> body,
                       const PutOptions& options) {
  return put_body(key, MemoryBody(body), options);
}

PutResult S3Store::put_body(const std::string& key, const BodySource& body,
                            const PutOptions& options) {
  try {
    StoreStats::add(stats_->puts);
    validate_key(key, "PUT " + describe() + "/" + key);
    validate_metadata(options.metadata, "PUT " + describe() + "/" + key);
    Op op;
    op.verb = "PUT";
    op.method = "PUT";
    op.full_key = full_key(key);
    op.body = &body;
    // Explicit: with no type, some servers store a form-urlencoded body as an empty object.
    op.headers.emplace_back("content-type", "application/octet-stream");
    if (options.if_none_match) {
      op.headers.emplace_back("if-none-match", "*");
      op.hint_context = "If-None-Match";
    }
    if (options.if_match) {
      op.headers.emplace_back("if-match", *options.if_match);
      op.hint_context = "If-Match";
    }
    for (const auto& [name, value] : options.metadata) {
      op.headers.emplace_back("x-amz-meta-" + name, value);
    }
    HttpResponse response = execute(op);
    const std::string* etag = response.header("etag");
    return PutResult{etag ? *etag : ""};
  } catch (const StoreError& e) {
    if (e.counts_as_failure()) StoreStats::add(stats_->failures);
    throw;
  }
}

}  // namespace ltxvfs::storage
