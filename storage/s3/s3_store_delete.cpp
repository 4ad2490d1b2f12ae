// S3Store's DELETE: keys in DeleteObjects batches of up to 1000 (S3's limit); a key XML cannot
// carry is deleted on its own. Keys already gone count as deleted.
#include <stdexcept>

#include "storage/s3/crypto.h"
#include "storage/s3/s3_store.h"
#include "storage/s3/s3_store_op.h"
#include "storage/s3/s3_xml.h"
#include "storage/validation.h"

namespace ltxvfs::storage {
namespace {

constexpr size_t kMaxDeleteBatch = 1000;  // S3's limit per DeleteObjects request

}  // namespace

void S3Store::delete_batch(const std::vector<std::string>& full_keys,
                           std::vector<std::string>* failures, StoreErrorKind* first_kind) {
  StoreStats::add(stats_->deletes);
  const std::string body = s3xml::delete_request_body(full_keys);
  Op op;
  op.verb = "DELETE";
  op.method = "POST";
  op.subject = describe() + " (" + std::to_string(full_keys.size()) + " keys)";
  op.query = {{"delete", ""}};
  const MemoryBody request_body({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  op.body = &request_body;
  op.headers.emplace_back("content-type", "application/xml");
  op.headers.emplace_back("content-md5", crypto::md5_base64(body));  // required by S3
  HttpResponse response = execute(op);
  std::vector<s3xml::DeleteFailure> result;
  try {
    result = s3xml::parse_delete_result(response.body_text());
  } catch (const std::runtime_error& e) {
    throw StoreError(
        StoreErrorKind::kProtocol,
        "DELETE " + describe() + ": cannot parse the DeleteObjects answer: " + e.what());
  }
  for (const auto& failure : result) {
    if (failure.code == "NoSuchKey") continue;  // already gone is what we wanted
    if (failures->empty()) *first_kind = s3_error_kind(0, failure.code);
    failures->push_back(where(failure.key) + ": " + failure.code + ": " + failure.message);
  }
}

void S3Store::remove(const std::vector<std::string>& keys) {
  try {
    std::vector<std::string> failures;
    StoreErrorKind first_kind = StoreErrorKind::kProtocol;
    std::vector<std::string> batch;
    for (const auto& key : keys) {
      validate_key(key, "DELETE " + describe() + "/" + key);
      const std::string full = full_key(key);
      if (!s3xml::representable_in_xml(full)) {
        // Control characters cannot travel in the XML batch: delete this one directly.
        StoreStats::add(stats_->deletes);
        Op op;
        op.verb = "DELETE";
        op.method = "DELETE";
        op.full_key = full;
        op.ok_statuses = {200, 204, 404};
        execute(op);
        continue;
      }
      batch.push_back(full);
      if (batch.size() == kMaxDeleteBatch) {
        delete_batch(batch, &failures, &first_kind);
        batch.clear();
      }
    }
    if (!batch.empty()) delete_batch(batch, &failures, &first_kind);
    if (!failures.empty()) {
      std::string message = "DELETE " + describe() + ": " + std::to_string(failures.size()) +
                            " of " + std::to_string(keys.size()) + " keys were not deleted: ";
      for (size_t i = 0; i < failures.size() && i < 5; ++i) {
        message += (i ? "; " : "") + failures[i];
      }
      if (failures.size() > 5) message += "; and " + std::to_string(failures.size() - 5) + " more";
      throw StoreError(first_kind, message);
    }
  } catch (const StoreError& e) {
    if (e.counts_as_failure()) StoreStats::add(stats_->failures);
    throw;
  }
}

}  // namespace ltxvfs::storage
