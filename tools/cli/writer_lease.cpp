#include "tools/cli/writer_lease.h"

#include <nlohmann/json.hpp>

#include "tools/cli/cli_common.h"
#include "vfs/core/time_spec.h"

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
  try {
    const auto j = nlohmann::json::parse(got.body.begin(), got.body.end());
    s.owner = j.value("owner", std::string("(unknown owner)"));
    const std::string expires = j.at("expires_at").get<std::string>();
    const auto when = core::parse_time_target(expires, now_ms);
    if (!when || when->latest)
      throw std::runtime_error("expires_at '" + expires + "' is not a time");
    s.expires_at_ms = when->ms;
    s.kind = s.expires_at_ms > now_ms ? LeaseStatus::Kind::kActive : LeaseStatus::Kind::kExpired;
  } catch (const std::exception& e) {
    s.kind = LeaseStatus::Kind::kUnreadable;
    s.detail = e.what();
  }
  return s;
}

bool lease_allows(const std::string& command, storage::ObjectStore& store,
                  storage::LayoutStyle layout, bool force) {
  const LeaseStatus lease = read_writer_lease(store, layout, core::now_ms());
  const std::string where = store.describe() + "/" + storage::lock_key(layout);
  switch (lease.kind) {
    case LeaseStatus::Kind::kNone:
      return true;
    case LeaseStatus::Kind::kExpired:
      warn(command, "the writer lease " + where + " (held by " + lease.owner + ") expired at " +
                        core::format_rfc3339_ms(lease.expires_at_ms) + "; going ahead");
      return true;
    case LeaseStatus::Kind::kActive: {
      const std::string what = "the writer lease " + where + " is held by " + lease.owner +
                               " until " + core::format_rfc3339_ms(lease.expires_at_ms) +
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
