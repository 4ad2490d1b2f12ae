// ltxvfs ls: a replica's LTX files by level, and what can be restored; with --keys, which key
// and database each file is sealed for (a rotation is done when no file names the old key).
#include <cinttypes>
#include <cstdio>
#include <map>

#include "base/time_spec.h"
#include "history/committed_history.h"
#include "history/restore_plan.h"
#include "storage/replica_layout.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"

namespace ltxvfs::cli {
namespace {

constexpr const char* kCommand = "ls";

const char* level_role(uint32_t level) {
  if (level == 0) return "uploads";
  if (level == storage::kSnapshotLevel) return "snapshots";
  return "compactions";
}

void print_head(const history::History& h) {
  if (h.head_garbage) {
    std::printf(
        "warning: head.json is not a head: every file counts until the next writer "
        "replaces it (it does so when it takes over)\n");
  } else if (h.head) {
    std::printf("head: %s\n", h.head->describe().c_str());
  }
  for (const auto& f : h.past_head) {
    std::printf(
        "not committed: %s is past the head (an upload in flight, or one a writer "
        "left when it lost ownership); no restore uses it\n",
        f.key.c_str());
  }
  for (const auto& f : h.strays) {
    std::printf(
        "left out: %s is a fenced-out writer's upload (not named in head.json); no "
        "restore uses it, retention deletes it\n",
        f.key.c_str());
  }
}

// What can be restored, what is left out and why.
void print_restorable(const history::History& h) {
  const history::RestoreGraph graph(h.files);
  const auto points = graph.restorable_txids();
  if (h.files.empty()) {
    std::printf(
        "restorable: nothing (there are no LTX files here: nothing was replicated to this "
        "location yet, or the URL is wrong)\n");
  } else if (points.empty()) {
    std::printf("restorable: nothing (no chain starts at a snapshot)\n");
  } else {
    std::printf("restorable: %zu TXIDs from %" PRIu64 " to %" PRIu64 "; newest %" PRIu64 "\n",
                points.size(), points.front(), points.back(), graph.newest());
  }
  for (size_t i : graph.forked()) {
    std::printf(
        "left out: %s overlaps the history's chain to the newest TXID (a writer that "
        "lost the lease while uploading left it); no restore uses it, retention "
        "deletes it\n",
        graph.files()[i].key.c_str());
  }
  print_head(h);
  if (graph.newest_stored() > graph.newest()) {
    std::printf("warning: gap after TXID %" PRIu64 ": files up to TXID %" PRIu64
                " cannot be applied\n",
                graph.newest(), graph.newest_stored());
  }
}

// One level's files, a line each unless `summary`; with `keys`, each file's key and database id
// (one 100-byte GET per file), counted into `per_key` ("key <id>" or "plain").
void print_files(storage::ObjectStore& store, const std::vector<const history::RemoteFile*>& files,
                 bool summary, bool keys, std::map<std::string, uint64_t>& per_key) {
  if (!summary) {
    // Upload times are 24 characters wide (2026-12-05T22:17:01.123Z).
    std::printf("  %20s %20s %10s  %s\n", "min_txid", "max_txid", "size",
                keys ? "uploaded (UTC)            encryption" : "uploaded (UTC)");
  }
  for (const auto* f : files) {
    std::string sealed;
    if (keys) {
      const ltx::Header header = header_of(store, f->key);
      sealed = header.is_encrypted() ? "key " + ltx::key_id_hex(header.key_id) + ", database " +
                                           ltx::database_id_hex(header.database_id)
                                     : "plain";
      ++per_key[header.is_encrypted() ? "key " + ltx::key_id_hex(header.key_id) : "plain"];
    }
    if (summary) continue;
    std::printf("  %20" PRIu64 " %20" PRIu64 " %10s  %s%s\n", f->min_txid, f->max_txid,
                human_bytes(f->size).c_str(), base::format_rfc3339_ms(f->last_modified_ms).c_str(),
                keys ? ("  " + sealed).c_str() : "");
  }
}

}  // namespace

void print_ls_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: ltxvfs ls <replica-url> [--level N] [--summary] [--keys]\n"
      "\n"
      "Lists the replica's LTX files grouped by level (0: uploads, 1-8: compactions, 9:\n"
      "snapshots) with their TXID ranges (decimal, as --txid takes them), sizes and upload\n"
      "times, then the restorable TXIDs.\n"
      "\n"
      "  --level N    only the files of level N\n"
      "  --summary    one line per level instead of every file\n"
      "  --keys       each file's encryption key id and database id (one 100-byte GET per\n"
      "               file), and how many files each key id holds: a rotation is done when\n"
      "               none is left under the old key\n"
      "\n%s",
      kReplicaUrlHelp);
}

int run_ls(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    print_ls_usage(stdout);
    return 0;
  }
  auto parsed = parse_args(kCommand, args, {"--summary", "--keys"}, {"--level"});
  if (!parsed) return 2;
  if (parsed->positional.size() != 1) {
    fail(kCommand, parsed->positional.empty()
                       ? "which replica? (ltxvfs ls --help)"
                       : "unexpected argument '" + parsed->positional[1] + "'");
    return 2;
  }
  std::optional<uint32_t> only;
  if (auto v = parsed->get("--level")) {
    const auto n = parse_count(*v, 0, storage::kSnapshotLevel);
    if (!n) {
      fail(kCommand, "--level '" + *v + "': expected 0 to 9");
      return 2;
    }
    only = static_cast<uint32_t>(*n);
  }
  try {
    auto opened = open_replica(parsed->positional[0]);
    const history::History h = history::read_history(*opened.store, opened.layout);
    const auto& files = h.files;
    struct Level {
      std::vector<const history::RemoteFile*> files;
      uint64_t bytes = 0, min = UINT64_MAX, max = 0;
    };
    std::map<uint32_t, Level> levels;
    const bool keys = parsed->has("--keys");
    std::map<std::string, uint64_t> per_key;  // "key <id>" or "plain" -> files listed
    uint64_t total = 0;
    for (const auto& f : files) {
      Level& l = levels[f.level];
      l.files.push_back(&f);
      l.bytes += f.size;
      l.min = std::min(l.min, f.min_txid);
      l.max = std::max(l.max, f.max_txid);
      total += f.size;
    }
    std::printf("%s: %zu LTX files, %s\n", opened.url.to_string().c_str(), files.size(),
                human_bytes(total).c_str());
    for (const auto& [level, l] : levels) {
      if (only && level != *only) continue;
      std::printf("level %u (%s): %zu files, %s, TXIDs %" PRIu64 "-%" PRIu64 "\n", level,
                  level_role(level), l.files.size(), human_bytes(l.bytes).c_str(), l.min, l.max);
      if (!parsed->has("--summary") || keys) {
        print_files(*opened.store, l.files, parsed->has("--summary"), keys, per_key);
      }
    }
    if (only && levels.count(*only) == 0) std::printf("level %u: no files\n", *only);
    for (const auto& [sealed, n] : per_key) {
      std::printf("%s: %" PRIu64 " file%s\n", sealed.c_str(), n, n == 1 ? "" : "s");
    }
    print_restorable(h);
    return 0;
  } catch (const std::exception& e) {
    fail(kCommand, e.what());
    return 1;
  }
}

}  // namespace ltxvfs::cli
