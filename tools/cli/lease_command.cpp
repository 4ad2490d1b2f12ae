// ltxvfs lease: shows the writer lease (lock.json) as a writer judges it, and breaks it when its
// holder is gone or when the object is not a lease at all (issue 16, item 7: a garbage lock.json
// made the primary refuse to open, with no tool to look or to fix it).
#include <cstdio>
#include <string>
#include <string_view>

#include "base/time_spec.h"
#include "base/time_util.h"
#include "history/writer_lease.h"
#include "storage/replica_layout.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"

namespace ltxvfs::cli {
namespace {

constexpr const char* kCommand = "lease";

std::string seconds_text(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

// What a writer opening now would conclude, in words. Returns whether it looks live.
bool describe_lease(const std::string& where, const storage::GetResult& got) {
  const std::string_view text(reinterpret_cast<const char*>(got.body.data()), got.body.size());
  const auto record = history::LeaseRecord::from_json(text);
  if (!record) {
    std::printf(
        "%s: not a lease record (%zu bytes): a writer refuses to open until it is "
        "replaced (--break)\n",
        where.c_str(), got.body.size());
    return false;
  }
  std::printf("%s: %s\n", where.c_str(), record->describe().c_str());
  if (record->released()) {
    std::printf("released: the next writer takes it at once\n");
    return false;
  }
  const auto expired = history::expired_by_store_clock(*record, got.last_modified_ms,
                                                       got.store_time_ms, history::kDefaultTtl);
  const auto ttl = history::holder_ttl(*record, got.last_modified_ms, history::kDefaultTtl);
  if (!expired) {
    std::printf(
        "the store reports no time: a writer watches the record for %s before it "
        "takes it over\n",
        seconds_text(ttl.count()).c_str());
    return true;
  }
  const int64_t age = got.store_time_ms - got.last_modified_ms;
  std::printf("written %s ago by the store's clock (TTL %s): %s\n", seconds_text(age).c_str(),
              seconds_text(ttl.count()).c_str(),
              *expired ? "run out; the next writer takes it over"
                       : "live; another writer waits until it runs out or is released");
  return !*expired;
}

}  // namespace

void print_lease_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: ltxvfs lease <replica-url> [--break [--force]]\n"
      "\n"
      "Shows the writer lease (<root>/lock.json): who holds it, its generation, and whether a\n"
      "writer opening now would find it live. Expiry is judged by the store's clock (its answer\n"
      "time minus the object's LastModified), never by this host's.\n"
      "\n"
      "  --break    replace it by a released lease (generation + 1), so the next writer takes it\n"
      "             at once: for a holder that is gone, or an object that is not a lease. A\n"
      "             holder still running loses it at its next renewal and stops writing.\n"
      "  --force    break a lease that looks live\n"
      "\n%s",
      kReplicaUrlHelp);
}

int run_lease(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    print_lease_usage(stdout);
    return 0;
  }
  auto parsed = parse_args(kCommand, args, {"--break", "--force"}, {});
  if (!parsed) return 2;
  if (parsed->positional.size() != 1) {
    fail(kCommand, parsed->positional.empty()
                       ? "which replica? (ltxvfs lease --help)"
                       : "unexpected argument '" + parsed->positional[1] + "'");
    return 2;
  }
  try {
    auto opened = open_replica(parsed->positional[0]);
    const std::string key = storage::lock_key(opened.layout);
    const std::string where = opened.store->describe() + "/" + key;
    std::optional<storage::GetResult> got;
    try {
      got = opened.store->get(key);
    } catch (const storage::StoreError& e) {
      if (e.kind() != storage::StoreErrorKind::kNotFound) throw;
    }
    if (!got) {
      std::printf("%s: absent: no writer has used this replica location yet\n", where.c_str());
      return 0;
    }
    const bool live = describe_lease(where, *got);
    if (!parsed->has("--break")) return 0;
    if (live && !parsed->has("--force")) {
      fail(kCommand, where +
                         " looks live: a writer may be running. Stop it (it releases the "
                         "lease when it closes), or add --force if you are sure it is gone");
      return 1;
    }
    const std::string replaced = history::break_lease(
        *opened.store, opened.layout, "ltxvfs-lease-break:" + history::make_lease_owner());
    std::printf("broken: %s replaced by a released lease\n", replaced.c_str());
    return 0;
  } catch (const std::exception& e) {
    fail(kCommand, e.what());
    return 1;
  }
}

}  // namespace ltxvfs::cli
