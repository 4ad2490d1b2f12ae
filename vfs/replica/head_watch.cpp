#include "vfs/replica/head_watch.h"

namespace ltxvfs::replica {

HeadWatch::Seen HeadWatch::look() {
  if (absent_) return Seen::kNone;
  const std::string etag = head_ ? head_->etag : "";
  std::optional<storage::GetResult> got;
  try {
    got = store_.get_if_changed(storage::head_key(layout_), etag);
  } catch (const storage::StoreError& e) {
    if (e.kind() != storage::StoreErrorKind::kNotFound) throw;
    head_.reset();
    absent_ = true;
    return Seen::kNone;
  }
  if (!got) return head_->record ? Seen::kUnchanged : Seen::kNone;
  const std::string text(got->body.begin(), got->body.end());
  head_ = history::ObservedHead{history::HeadRecord::from_json(text), got->etag};
  return head_->record ? Seen::kChanged : Seen::kNone;
}

std::optional<uint64_t> HeadWatch::txid() const {
  if (!head_ || !head_->record) return std::nullopt;
  return head_->record->txid;
}

std::vector<history::RemoteFile> HeadWatch::committed(
    std::vector<history::RemoteFile> listed) const {
  if (!head_ || !head_->record) return listed;
  return history::committed_history(std::move(listed), head_).files;
}

}  // namespace ltxvfs::replica
