// ltxvfs status: where a replica location stands, from the store alone (issue 18: "no way to see
// a writer's state from outside the process"): the committed head and its age, the lease and
// whether a writer opening now would find it live, the levels, what restores, and what is left
// out, and whether the newest file is encrypted (its key id and database id, never a key). --json
// for monitoring scripts.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "base/time_spec.h"
#include "history/committed_history.h"
#include "history/writer_lease.h"
#include "ltx/encryption_key.h"
#include "storage/replica_layout.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"

namespace ltxvfs::cli {
namespace {

constexpr const char* kCommand = "status";

std::optional<storage::GetResult> get_if_present(storage::ObjectStore& store,
                                                 const std::string& key) {
  try {
    return store.get(key);
  } catch (const storage::StoreError& e) {
    if (e.kind() == storage::StoreErrorKind::kNotFound) return std::nullopt;
    throw;
  }
}

// The age of an object by the store's clock alone; nullopt when the store reports no time.
std::optional<int64_t> age_ms(const storage::GetResult& got) {
  if (got.store_time_ms <= 0 || got.last_modified_ms <= 0) return std::nullopt;
  return got.store_time_ms - got.last_modified_ms;
}

nlohmann::ordered_json lease_status(const std::optional<storage::GetResult>& got) {
  nlohmann::ordered_json j;
  if (!got) {
    j["state"] = "absent";
    return j;
  }
  const std::string text(got->body.begin(), got->body.end());
  const auto record = history::LeaseRecord::from_json(text);
  if (!record) {
    j["state"] = "not a lease (ltxvfs lease --break replaces it)";
    return j;
  }
  j["owner"] = record->owner;
  j["generation"] = record->generation;
  j["expires_at"] = base::format_rfc3339_ms(record->expires_at_ms);
  if (const auto age = age_ms(*got)) j["age_ms"] = *age;
  const auto expired = history::expired_by_store_clock(*record, got->last_modified_ms,
                                                       got->store_time_ms, history::kDefaultTtl);
  j["state"] = record->released() ? "released"
               : !expired         ? "held (the store reports no time to judge it by)"
               : *expired         ? "run out"
                                  : "live";
  return j;
}

// What the header of the newest restorable file says of encryption (one 100-byte GET): which key
// to give readers during a rotation, and which database id the history binds
// (docs/SECURITY.md).
nlohmann::ordered_json encryption_of(storage::ObjectStore& store,
                                     const std::vector<history::RemoteFile>& files,
                                     uint64_t newest) {
  const history::RemoteFile* last = history::newest_file(files, newest);
  if (last == nullptr) return "no file";
  const ltx::Header h = header_of(store, last->key);
  if (!h.is_encrypted()) return "none";
  return {{"key_id", ltx::key_id_hex(h.key_id)},
          {"database_id", ltx::database_id_hex(h.database_id)}};
}

nlohmann::ordered_json status_of(storage::OpenedStore& opened) {
  storage::ObjectStore& store = *opened.store;
  // The head first, then the listing, as read_history does (one GET of head.json, not two).
  const auto head_object = get_if_present(store, storage::head_key(opened.layout));
  std::optional<history::ObservedHead> observed;
  if (head_object) {
    const std::string text(head_object->body.begin(), head_object->body.end());
    observed = history::ObservedHead{history::HeadRecord::from_json(text), head_object->etag};
  }
  const history::History h =
      history::committed_history(history::list_all_ltx_files(store, opened.layout), observed);
  nlohmann::ordered_json j;
  j["replica"] = opened.url.to_string();
  if (h.head) {
    j["head"] = {
        {"txid", h.head->txid}, {"owner", h.head->owner}, {"generation", h.head->generation}};
    if (head_object) {
      j["head"]["committed_at"] = base::format_rfc3339_ms(head_object->last_modified_ms);
      if (const auto age = age_ms(*head_object)) j["head"]["age_ms"] = *age;
    }
  } else {
    j["head"] = h.head_garbage ? "not a head (the next writer replaces it)"
                               : "absent (a replica written before head.json, or by Litestream)";
  }
  j["lease"] = lease_status(get_if_present(store, storage::lock_key(opened.layout)));
  std::map<uint32_t, nlohmann::ordered_json> levels;
  for (const auto& f : h.files) {
    auto& l = levels[f.level];
    if (l.is_null())
      l = {{"level", f.level},
           {"files", 0},
           {"bytes", 0},
           {"min_txid", f.min_txid},
           {"max_txid", f.max_txid}};
    l["files"] = l["files"].get<uint64_t>() + 1;
    l["bytes"] = l["bytes"].get<uint64_t>() + f.size;
    l["min_txid"] = std::min(l["min_txid"].get<uint64_t>(), f.min_txid);
    l["max_txid"] = std::max(l["max_txid"].get<uint64_t>(), f.max_txid);
  }
  j["levels"] = nlohmann::ordered_json::array();
  for (auto& [level, l] : levels) j["levels"].push_back(l);
  const history::RestoreGraph graph(h.files);
  j["newest_restorable_txid"] = graph.newest();
  j["encryption"] = encryption_of(store, h.files, graph.newest());
  j["uncommitted_files"] = h.past_head.size();
  j["left_out_files"] = h.strays.size() + graph.forked().size();
  return j;
}

void print_text(const nlohmann::ordered_json& j) {
  std::printf("replica: %s\n", j["replica"].get<std::string>().c_str());
  const auto& head = j["head"];
  if (head.is_object()) {
    std::printf("head: TXID %" PRIu64 ", owner %s (generation %" PRIu64 ")",
                head["txid"].get<uint64_t>(), head["owner"].get<std::string>().c_str(),
                head["generation"].get<uint64_t>());
    if (head.contains("committed_at")) {
      std::printf(", committed %s", head["committed_at"].get<std::string>().c_str());
    }
    if (head.contains("age_ms")) {
      std::printf(" (%.1f s ago by the store's clock)", head["age_ms"].get<int64_t>() / 1000.0);
    }
    std::printf("\n");
  } else {
    std::printf("head: %s\n", head.get<std::string>().c_str());
  }
  const auto& lease = j["lease"];
  std::printf("lease: %s", lease["state"].get<std::string>().c_str());
  if (lease.contains("owner")) {
    std::printf(", %s (generation %" PRIu64 "), expires_at %s",
                lease["owner"].get<std::string>().c_str(), lease["generation"].get<uint64_t>(),
                lease["expires_at"].get<std::string>().c_str());
  }
  std::printf("\n");
  for (const auto& l : j["levels"]) {
    std::printf("level %u: %" PRIu64 " files, %s, TXIDs %" PRIu64 "-%" PRIu64 "\n",
                l["level"].get<uint32_t>(), l["files"].get<uint64_t>(),
                human_bytes(l["bytes"].get<uint64_t>()).c_str(), l["min_txid"].get<uint64_t>(),
                l["max_txid"].get<uint64_t>());
  }
  std::printf("newest restorable TXID: %" PRIu64 "\n", j["newest_restorable_txid"].get<uint64_t>());
  const auto& enc = j["encryption"];
  if (enc.is_object()) {
    std::printf("encryption: key id %s, database id %s\n", enc["key_id"].get<std::string>().c_str(),
                enc["database_id"].get<std::string>().c_str());
  } else {
    std::printf("encryption: %s\n", enc.get<std::string>().c_str());
  }
  std::printf("uncommitted files: %zu, left out: %zu\n", j["uncommitted_files"].get<size_t>(),
              j["left_out_files"].get<size_t>());
}

}  // namespace

void print_status_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ltxvfs status <replica-url> [--json]\n"
               "\n"
               "Where a replica location stands, read from the store alone: the head (newest\n"
               "committed TXID, its owner, when it was committed), the writer lease and whether a\n"
               "writer opening now finds it live (judged by the store's clock), the levels, the\n"
               "newest restorable TXID, files no restore uses, and whether the newest file is\n"
               "encrypted (its key id and database id). Four requests: head.json, lock.json, one\n"
               "listing and the newest file's 100-byte header.\n"
               "\n"
               "  --json    one JSON object instead of text\n"
               "\n%s",
               kReplicaUrlHelp);
}

int run_status(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    print_status_usage(stdout);
    return 0;
  }
  auto parsed = parse_args(kCommand, args, {"--json"}, {});
  if (!parsed) return 2;
  if (parsed->positional.size() != 1) {
    fail(kCommand, parsed->positional.empty()
                       ? "which replica? (ltxvfs status --help)"
                       : "unexpected argument '" + parsed->positional[1] + "'");
    return 2;
  }
  try {
    auto opened = open_replica(parsed->positional[0]);
    const auto j = status_of(opened);
    if (parsed->has("--json")) {
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      print_text(j);
    }
    return 0;
  } catch (const std::exception& e) {
    fail(kCommand, e.what());
    return 1;
  }
}

}  // namespace ltxvfs::cli
