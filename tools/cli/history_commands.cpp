// ltxvfs compact and ltxvfs retention: the history engine run once, by hand.
#include <cinttypes>
#include <cstdio>
#include <utility>
#include <vector>

#include "base/time_spec.h"
#include "history/head_keeper.h"
#include "history/history_engine.h"
#include "history/history_policy.h"
#include "history/restore_plan.h"
#include "history/retention.h"
#include "ltx/header.h"
#include "storage/replica_layout.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"
#include "tools/cli/writer_lease.h"

namespace ltxvfs::cli {
namespace {

// The format of the replica: that of its newest file (one small ranged GET).
ltx::OutputFormat detect_format(storage::ObjectStore& store,
                                const std::vector<history::RemoteFile>& files) {
  const history::RemoteFile* newest = history::newest_file(files);
  if (newest == nullptr) return ltx::OutputFormat::kNative;
  const ltx::Header h = header_of(store, newest->key);
  return h.has_native_extensions() ? ltx::OutputFormat::kNative : ltx::OutputFormat::kLitestream;
}

std::string describe(const history::RemoteFile& f) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "level %u, TXIDs %" PRIu64 "-%" PRIu64 ", %s", f.level, f.min_txid,
                f.max_txid, human_bytes(f.size).c_str());
  return f.key + " (" + buf + ")";
}

}  // namespace

void print_compact_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: ltxvfs compact <replica-url> [--snapshot] [--all] [--levels LIST]\n"
      "                      [--format FORMAT] [--temp-dir DIR] [--force]\n"
      "\n"
      "Runs the history engine once, now: each compaction level in turn (level n merges the\n"
      "level n-1 files beyond what level n covers), then with --snapshot a level-9 snapshot built\n"
      "from the remote chain. Deletes nothing (see ltxvfs retention). A running writer does this\n"
      "itself: while its lease (lock.json) is held by another process this refuses.\n"
      "\n"
      "What it coarsens: level n takes only files whose newest commit is before the start of\n"
      "level n's current interval (multiples of it, as the writer's schedule), so the restore\n"
      "points the schedule keeps stay: every upload of the current level-1 interval, one per\n"
      "level-1 interval within the current level-2 interval, and so on. Once retention runs, a\n"
      "point older than that is kept only at the granularity of the level that covers it.\n"
      "With --all, every level takes everything beyond it: once retention runs, the only restore\n"
      "points left are the top level's and the snapshots'.\n"
      "\n"
      "  --snapshot       also build a level-9 snapshot (when there is something newer to "
      "snapshot)\n"
      "  --all            compact everything, whatever the intervals (coarsens the restore "
      "points)\n"
      "  --levels LIST    the compaction levels and intervals, as the writer's levels= (default\n"
      "                   30s,5m,1h: levels 1 to 3)\n"
      "  --format FORMAT  native or litestream (default: the format of the replica's newest file)\n"
      "  --temp-dir DIR   where outputs are written before they are uploaded (default $TMPDIR or\n"
      "                   /tmp; a snapshot needs room for the compressed database)\n"
      "  --force          go ahead even while another process holds the writer lease\n"
      "\n%s",
      kReplicaUrlHelp);
}

void print_retention_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: ltxvfs retention <replica-url> [--dry-run] [--retention D] [--retention-grace D]\n"
      "                        [--force]\n"
      "\n"
      "Deletes the LTX files that no restore point inside the retention window needs: every\n"
      "compaction boundary committed inside the window, the newest point before it and the newest\n"
      "TXID stay restorable, through the chains a restore would use; a file stops being needed\n"
      "only a grace period after the files that replaced it appeared. Prints each file deleted\n"
      "and why. While the writer lease (lock.json) is held by another process this refuses.\n"
      "\n"
      "  --dry-run              list what would be deleted and why; delete nothing\n"
      "  --retention D          the window (default 24h); D is 500ms, 30s, 5m, 1h, 24h, 7d...\n"
      "  --retention-grace D    how long unneeded files are kept for readers (default 5m)\n"
      "  --force                go ahead even while another process holds the writer lease\n"
      "\n%s",
      kReplicaUrlHelp);
}

int run_compact(const std::vector<std::string>& args) {
  const std::string command = "compact";
  if (wants_help(args)) {
    print_compact_usage(stdout);
    return 0;
  }
  auto parsed = parse_args(command, args, {"--snapshot", "--all", "--force"},
                           {"--levels", "--format", "--temp-dir"});
  if (!parsed) return 2;
  if (parsed->positional.size() != 1) {
    fail(command, parsed->positional.empty()
                      ? "which replica? (ltxvfs compact --help)"
                      : "unexpected argument '" + parsed->positional[1] + "'");
    return 2;
  }
  history::HistoryPolicy policy;
  try {
    if (auto v = parsed->get("--levels"))
      policy.level_intervals_ms = history::parse_levels("--levels", *v);
  } catch (const history::HistoryPolicyError& e) {
    fail(command, e.what());
    return 2;
  }
  std::optional<ltx::OutputFormat> format;
  if (auto v = parsed->get("--format")) {
    if (*v == "native") {
      format = ltx::OutputFormat::kNative;
    } else if (*v == "litestream") {
      format = ltx::OutputFormat::kLitestream;
    } else {
      fail(command, "--format '" + *v + "': expected native or litestream");
      return 2;
    }
  }
  try {
    auto opened = open_replica(parsed->positional[0]);
    if (!lease_allows(command, *opened.store, opened.layout, parsed->has("--force"))) return 1;
    const auto files = history::list_ltx_files(*opened.store, opened.layout);
    if (files.empty()) {
      fail(command, opened.url.to_string() + " holds no LTX files: nothing to compact");
      return 1;
    }
    if (!format) format = detect_format(*opened.store, files);
    history::CompactionWork work;
    work.temp_dir = parsed->get("--temp-dir").value_or("");
    if (*format == ltx::OutputFormat::kNative) work.encryption_key = encryption_key();
    std::vector<std::pair<history::RemoteFile, history::IndexHints>> hints;
    work.written = [&](const history::WrittenFile& w) { hints.emplace_back(w.file, w.hints); };
    history::HistoryEngine engine(*opened.store, opened.layout, *format, policy, work);
    const auto report = engine.run_now(
        base::now_ms(), history::RunNowOptions{.levels = true,
                                               .snapshot = parsed->has("--snapshot"),
                                               .retention = false,
                                               .keep_schedule_points = !parsed->has("--all")});
    for (const auto& w : report.written) {
      std::printf("%s %s from %" PRIu64 " bytes read%s\n",
                  w.file.level == storage::kSnapshotLevel ? "snapshot" : "compacted",
                  describe(w.file).c_str(), w.bytes_read,
                  w.already_there ? " (it was already there)" : "");
    }
    // Where the new files' indexes are, for replicas' opens (one exact GET each), as a writer
    // records its own outputs'. Not while a writer holds the lease (--force): the head is its.
    if (!hints.empty() &&
        read_writer_lease(*opened.store, opened.layout, base::now_ms()).kind !=
            LeaseStatus::Kind::kActive &&
        history::record_hints_in_head(*opened.store, opened.layout, hints)) {
      std::printf("head.json: recorded where the new files' page indexes are (for replicas)\n");
    }
    const auto after = history::list_ltx_files(*opened.store, opened.layout);
    std::printf("%zu files written (%s); the newest TXID restores from %zu files\n",
                report.written.size(),
                *format == ltx::OutputFormat::kNative ? "native" : "litestream",
                history::plan_restore(after, history::newest_restorable_txid(after)).size());
    return 0;
  } catch (const std::exception& e) {
    fail(command, e.what());
    return 1;
  }
}

int run_retention(const std::vector<std::string>& args) {
  const std::string command = "retention";
  if (wants_help(args)) {
    print_retention_usage(stdout);
    return 0;
  }
  auto parsed =
      parse_args(command, args, {"--dry-run", "--force"}, {"--retention", "--retention-grace"});
  if (!parsed) return 2;
  if (parsed->positional.size() != 1) {
    fail(command, parsed->positional.empty()
                      ? "which replica? (ltxvfs retention --help)"
                      : "unexpected argument '" + parsed->positional[1] + "'");
    return 2;
  }
  history::HistoryPolicy policy;
  try {
    if (auto v = parsed->get("--retention")) {
      policy.retention_ms = history::parse_duration_ms("--retention", *v);
    }
    if (auto v = parsed->get("--retention-grace")) {
      policy.retention_grace_ms = history::parse_duration_or_zero_ms("--retention-grace", *v);
    }
  } catch (const history::HistoryPolicyError& e) {
    fail(command, e.what());
    return 2;
  }
  const bool dry_run = parsed->has("--dry-run");
  try {
    auto opened = open_replica(parsed->positional[0]);
    if (!dry_run && !lease_allows(command, *opened.store, opened.layout, parsed->has("--force"))) {
      return 1;
    }
    const int64_t now = base::now_ms();
    const auto files = history::list_ltx_files(*opened.store, opened.layout);
    const history::RetentionPlan plan = history::plan_retention(files, now, policy);
    std::printf("%s: %zu LTX files; retention %s (window from %s), grace %s\n",
                opened.url.to_string().c_str(), files.size(),
                history::format_duration_ms(policy.retention_ms).c_str(),
                base::format_rfc3339_ms(plan.window_start_ms).c_str(),
                history::format_duration_ms(policy.retention_grace_ms).c_str());
    if (!plan.note.empty()) std::printf("%s\n", plan.note.c_str());
    if (plan.kept_points > 0) {
      std::printf("keeps %zu files: %zu restore points from TXID %" PRIu64
                  " to the newest, %" PRIu64 "\n",
                  plan.kept, plan.kept_points, plan.oldest_kept_point, plan.newest_restorable);
    }
    const char* verb = dry_run ? "would delete" : "delete";
    for (const auto& d : plan.remove) {
      std::printf("%s %s: %s\n", verb, describe(d.file).c_str(), d.reason.c_str());
    }
    for (const auto& d : plan.waiting) {
      std::printf("keep for now %s: %s\n", describe(d.file).c_str(), d.reason.c_str());
    }
    if (!dry_run && !plan.remove.empty()) {
      std::vector<std::string> keys;
      for (const auto& d : plan.remove) keys.push_back(d.file.key);
      opened.store->remove(keys);
    }
    uint64_t bytes = 0;
    for (const auto& d : plan.remove) bytes += d.file.size;
    std::printf("%s %zu files (%s); %zu more after their grace period\n",
                dry_run ? "would delete" : "deleted", plan.remove.size(),
                human_bytes(bytes).c_str(), plan.waiting.size());
    return 0;
  } catch (const std::exception& e) {
    fail(command, e.what());
    return 1;
  }
}

}  // namespace ltxvfs::cli
