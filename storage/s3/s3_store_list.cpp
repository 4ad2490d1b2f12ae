// S3Store's LIST: ListObjectsV2 pages followed to the end, keys made relative to the store's
// prefix and filtered again (servers that ignore start-after), in key order.
#include <algorithm>
#include <stdexcept>

#include "storage/s3/s3_store.h"
#include "storage/s3/s3_store_op.h"
#include "storage/s3/s3_xml.h"

namespace ltxvfs::storage {

std::vector<ObjectInfo> S3Store::list(const std::string& prefix, const std::string& start_after) {
  try {
    const std::string root = prefix_.empty() ? "" : prefix_ + "/";
    const std::string full_prefix = root + prefix;
    std::vector<ObjectInfo> out;
    std::string token;
    while (true) {
      StoreStats::add(stats_->lists);
      Op op;
      op.verb = "LIST";
      op.method = "GET";
      op.subject = where(full_prefix);
      op.query = {{"list-type", "2"},
                  {"encoding-type", "url"},
                  {"max-keys", std::to_string(list_page_size_)}};
      if (!full_prefix.empty()) op.query.emplace_back("prefix", full_prefix);
      if (!token.empty()) {
        op.query.emplace_back("continuation-token", token);
      } else if (!start_after.empty()) {
        op.query.emplace_back("start-after", root + start_after);
      }
      HttpResponse response = execute(op);
      s3xml::ListPage page;
      try {
        page = s3xml::parse_list_objects_v2(response.body_text());
      } catch (const std::runtime_error& e) {
        throw StoreError(StoreErrorKind::kProtocol,
                         "LIST " + describe() + "/" + prefix +
                             ": cannot parse the ListObjectsV2 answer: " + e.what());
      }
      for (auto& object : page.objects) {
        // Filter again: some servers ignore start-after, and keys outside the root are not ours.
        if (object.key.rfind(full_prefix, 0) != 0) continue;
        object.key = object.key.substr(root.size());
        if (!start_after.empty() && object.key <= start_after) continue;
        out.push_back(std::move(object));
      }
      if (!page.truncated) break;
      if (page.next_continuation_token == token) {
        throw StoreError(StoreErrorKind::kProtocol,
                         "LIST " + describe() + "/" + prefix +
                             ": the server returned the same continuation token twice");
      }
      token = page.next_continuation_token;
    }
    // S3 already answers in key order; sorting guards against servers that do not.
    if (!std::is_sorted(out.begin(), out.end(),
                        [](const auto& a, const auto& b) { return a.key < b.key; })) {
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    }
    return out;
  } catch (const StoreError& e) {
    if (e.counts_as_failure()) StoreStats::add(stats_->failures);
    throw;
  }
}

}  // namespace ltxvfs::storage
