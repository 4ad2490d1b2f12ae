#include "tools/cli/writer_lease.h"

#include <string_view>

#include "base/time_spec.h"
#include "history/writer_lease.h"
#include "tools/cli/cli_common.h"

namespace ltxvfs::cli {

LeaseStatus read_writer_lease(storage::ObjectStore& store, storage::LayoutStyle layout,
                              int64_t now_ms) {
  LeaseStatus s;
  storage::GetResult got;
  try {
    got = store.get(storage::lock_key(layout));
  } catch (const storage::StoreError& e) {
    if (e.kind() == storage::StoreErrorKind::kNotFound) return s;
    throw;
  }
  // One reader of lock.json for the writer and this tool: history::LeaseRecord.
  const auto record = history::LeaseRecord::from_json(
      std::string_view(reinterpret_cast<const char*>(got.body.data()), got.body.size()));
  if (!record) {
    s.kind = LeaseStatus::Kind::kUnreadable;
    s.detail = "not a lease: expected {\"generation\", \"expires_at\", \"owner\"}";
    return s;
  }
  // Released by a writer that closed cleanly: nobody holds it.
  if (record->released()) return s;
  s.owner = record->owner;
  s.expires_at_ms = record->expires_at_ms;
  // The store's clock when it reports one (a wall clock that is off must not make a live
  // writer's lease look expired); this host's clock against expires_at otherwise.
  const auto by_store = history::expired_by_store_clock(*record, got.last_modified_ms,
                                                        got.store_time_ms, history::kDefaultTtl);
  const bool expired = by_store ? *by_store : s.expires_at_ms <= now_ms;
  s.kind = expired ? LeaseStatus::Kind::kExpired : LeaseStatus::Kind::kActive;
  return s;
}

bool lease_allows(const std::string& command, storage::ObjectStore& store,
                  storage::LayoutStyle layout, bool force) {
  const LeaseStatus lease = read_writer_lease(store, layout, base::now_ms());
  const std::string where = store.describe() + "/" + storage::lock_key(layout);
  switch (lease.kind) {
    case LeaseStatus::Kind::kNone:
      return true;
    case LeaseStatus::Kind::kExpired:
      warn(command, "the writer lease " + where + " (held by " + lease.owner + ") expired at " +
                        base::format_rfc3339_ms(lease.expires_at_ms) + "; going ahead");
      return true;
    case LeaseStatus::Kind::kActive: {
      const std::string what = "the writer lease " + where + " is held by " + lease.owner +
                               " until " + base::format_rfc3339_ms(lease.expires_at_ms) +
                               ": a writer is running, and it compacts and prunes its replica "
                               "itself";
      if (force) {
        warn(command, what + "; going ahead because of --force");
        return true;
      }
      fail(command, what +
                        ". Stop it or wait for the lease to expire; --force goes ahead anyway "
                        "(only if you are sure the writer is gone)");
      return false;
    }
    case LeaseStatus::Kind::kUnreadable:
      if (force) {
        warn(command,
             where + " is unreadable (" + lease.detail + "); going ahead because of --force");
        return true;
      }
      fail(command, where + " exists but is unreadable (" + lease.detail +
                        "): a writer may be running. --force goes ahead anyway");
      return false;
  }
  return false;
}

}  // namespace ltxvfs::cli
