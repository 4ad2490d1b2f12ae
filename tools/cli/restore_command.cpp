// ltxvfs restore: a replica's database at a TXID or a time, into a new file.
#include <sqlite3.h>
#include <unistd.h>

#include <cctype>
#include <cinttypes>
#include <cstdio>

#include "base/time_spec.h"
#include "history/restore_plan.h"
#include "history/restorer.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"

namespace ltxvfs::cli {
namespace {

constexpr const char* kCommand = "restore";

// "file:" URI of a path, percent-encoding what a URI would misread.
std::string file_uri(const std::string& path) {
  std::string out = "file:";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// PRAGMA integrity_check (or `pragma`, quick_check) on a database file: "ok" or SQLite's report.
// Opened immutable: no lock, no -wal or -shm is read or created beside it (a WAL-mode database
// opened read-only would otherwise create both), so what is checked is exactly the file's bytes.
std::string integrity_check(const std::string& path, const std::string& pragma) {
  sqlite3* db = nullptr;
  std::string result;
  const std::string uri = file_uri(path) + "?immutable=1";
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) !=
      SQLITE_OK) {
    result = std::string("cannot open: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return result;
  }
  // Read through a memory map: the check looks up every row's index entries, re-reading pages
  // its 2 MiB cache dropped, and as pread()s that was 620,000 calls and 0.67 s of system time
  // for a 64 MiB database with one index (1.18 s -> 0.83 s). SQLite caps the size at its build's
  // maximum (2 GiB by default); a larger database is mapped that far and read beyond it.
  sqlite3_exec(db, "PRAGMA mmap_size=1099511627776", nullptr, nullptr, nullptr);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, ("PRAGMA " + pragma).c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!result.empty()) result += "; ";
      result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    if (rc != SQLITE_DONE) result += std::string(result.empty() ? "" : "; ") + sqlite3_errmsg(db);
  } else {
    result = sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

// What the command line asks for, checked.
struct RestoreRequest {
  std::string url;
  std::string output;
  std::optional<uint64_t> txid;
  std::optional<int64_t> timestamp;  // ms since the epoch
  unsigned jobs = 8;                 // parallel downloads
  bool force = false;
  bool if_db_not_exists = false;   // an existing output is success, not a failure
  bool if_replica_exists = false;  // no replica is success, not a failure
  // What SQLite checks of the result before it takes its name: integrity_check, quick_check
  // (no comparison of indexes with their tables: linear, where integrity_check is not), none.
  std::string check = "integrity_check";
};

// The exit codes of `ltxvfs restore` (print_restore_usage() and README.md list them): scripts
// that restore at startup tell "nothing to restore" and "already restored" from failures.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitOutputExists = 3;
constexpr int kExitNoReplica = 4;

// The request `args` make, or nullopt once the mistake is reported (exit status 2).
std::optional<RestoreRequest> parse_request(const std::vector<std::string>& args) {
  auto parsed = parse_args(kCommand, args, {"--force", "--if-db-not-exists", "--if-replica-exists"},
                           {"-o", "--output", "--txid", "--timestamp", "--jobs", "--check"});
  if (!parsed) return std::nullopt;
  if (parsed->positional.size() != 1) {
    fail(kCommand, parsed->positional.empty()
                       ? "which replica? (ltxvfs restore --help)"
                       : "unexpected argument '" + parsed->positional[1] + "'");
    return std::nullopt;
  }
  RestoreRequest request;
  request.url = parsed->positional[0];
  if (parsed->has("-o") && parsed->has("--output")) {
    fail(kCommand, "give -o or --output, not both");
    return std::nullopt;
  }
  request.output = parsed->get("-o").value_or(parsed->get("--output").value_or(""));
  if (request.output.empty()) {
    fail(kCommand, "where to? -o <out.db> is required");
    return std::nullopt;
  }
  if (auto v = parsed->get("--txid")) {
    request.txid = history::parse_txid(*v);
    if (!request.txid) {
      fail(kCommand, "--txid '" + *v +
                         "': expected a TXID from 1, in decimal (1234), hex (0x4d2) or as in "
                         "file names (00000000000004d2)");
      return std::nullopt;
    }
  }
  if (auto v = parsed->get("--timestamp")) {
    const auto when = base::parse_time_target(*v, base::now_ms());
    if (!when || when->latest) {
      fail(kCommand, "--timestamp '" + *v + "': " + std::string(base::kTimeSpecHelp) +
                         " ('latest' is the default: omit --timestamp)");
      return std::nullopt;
    }
    request.timestamp = when->ms;
  }
  if (request.txid && request.timestamp) {
    fail(kCommand, "give --txid or --timestamp, not both");
    return std::nullopt;
  }
  if (auto v = parsed->get("--jobs")) {
    const auto n = parse_count(*v, 1, 64);
    if (!n) {
      fail(kCommand, "--jobs '" + *v + "': expected 1 to 64");
      return std::nullopt;
    }
    request.jobs = static_cast<unsigned>(*n);
  }
  if (auto v = parsed->get("--check")) {
    if (*v == "full") {
      request.check = "integrity_check";
    } else if (*v == "quick") {
      request.check = "quick_check";
    } else if (*v == "none") {
      request.check.clear();
    } else {
      fail(kCommand, "--check '" + *v + "': expected full, quick or none");
      return std::nullopt;
    }
  }
  request.force = parsed->has("--force");
  request.if_db_not_exists = parsed->has("--if-db-not-exists");
  request.if_replica_exists = parsed->has("--if-replica-exists");
  if (request.force && request.if_db_not_exists) {
    fail(kCommand, "give --force (replace the output) or --if-db-not-exists (keep it), not both");
    return std::nullopt;
  }
  return request;
}

// The TXID to restore: the one asked for, the last committed at the time asked for, or else the
// newest restorable one. nullopt once the reason is reported (exit status 1): nothing is
// restorable, or a gap hides newer files (restoring short of them silently would lose commits).
std::optional<uint64_t> choose_target(const RestoreRequest& request,
                                      const storage::OpenedStore& opened,
                                      const std::vector<history::RemoteFile>& files,
                                      const history::RestoreGraph& graph) {
  if (request.txid) return *request.txid;
  if (request.timestamp) return history::txid_at_time(*opened.store, files, *request.timestamp);
  const uint64_t target = graph.newest();
  if (target == 0) {
    fail(kCommand, opened.url.to_string() +
                       " holds no restorable LTX files (no chain starts at a "
                       "snapshot); ltxvfs ls shows what it holds");
    return std::nullopt;
  }
  if (graph.newest_stored() > target) {
    fail(kCommand, "the replica has a gap after TXID " + std::to_string(target) +
                       ": files up to TXID " + std::to_string(graph.newest_stored()) +
                       " exist but cannot be applied. Restore the newest consistent state "
                       "with --txid " +
                       std::to_string(target));
    return std::nullopt;
  }
  return target;
}

// A progress bar on stderr, redrawn in place: 30 columns of files done, and bytes downloaded.
void show_progress(const history::RestoreProgress& p) {
  const int width = 30;
  const int filled =
      p.files_total == 0 ? width : static_cast<int>(width * p.files_done / p.files_total);
  std::fprintf(stderr, "\r[%-*s] %zu/%zu files, %s", width,
               std::string(static_cast<size_t>(filled), '#').c_str(), p.files_done, p.files_total,
               human_bytes(p.bytes_downloaded).c_str());
  std::fflush(stderr);
}

// The exit code when the output (or a -wal, -shm or -journal SQLite would apply to it) exists
// and --force was not given; nullopt to go on.
std::optional<int> check_output(const RestoreRequest& request) {
  if (request.force) return std::nullopt;
  if (::access(request.output.c_str(), F_OK) == 0) {
    if (request.if_db_not_exists) {
      std::printf("%s exists; nothing restored (--if-db-not-exists)\n", request.output.c_str());
      return kExitOk;
    }
    fail(kCommand, request.output +
                       " already exists; choose another output, pass --force to replace it, or "
                       "--if-db-not-exists to keep it and exit 0");
    return kExitOutputExists;
  }
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string stale = request.output + suffix;
    if (::access(stale.c_str(), F_OK) != 0) continue;
    fail(kCommand, stale +
                       " exists (left by an earlier database of that name): SQLite would apply "
                       "it to the restored database. Remove it, or pass --force");
    return kExitOutputExists;
  }
  return std::nullopt;
}

}  // namespace

void print_restore_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: ltxvfs restore <replica-url> -o <out.db> [--txid N | --timestamp WHEN] [--force]\n"
      "                      [--jobs N] [--check full|quick|none] [--if-db-not-exists]\n"
      "                      [--if-replica-exists]\n"
      "\n"
      "Restores the replica's database at a TXID (default: the newest restorable one) into a new\n"
      "file. Every LTX file is verified (checksums, TXID continuity), then PRAGMA integrity_check\n"
      "runs on the result before it takes the name <out.db>; on any failure nothing changes.\n"
      "\n"
      "  -o, --output FILE  the database to write; it must not exist, nor FILE-wal, FILE-shm or\n"
      "                     FILE-journal (SQLite would apply those to the restored database)\n"
      "  --txid N           a TXID: decimal (1234), hex (0x4d2) or as in LTX file names\n"
      "                     (00000000000004d2); ltxvfs ls lists the restorable ones\n"
      "  --timestamp WHEN   the newest TXID committed at or before WHEN: RFC 3339\n"
      "                     (2026-11-20T10:00:00Z), 'YYYY-MM-DD HH:MM:SS' (UTC) or '5 minutes "
      "ago'\n"
      "  --force            replace an existing FILE, removing its -wal, -shm and -journal\n"
      "  --jobs N           parallel downloads, 1 to 64 (default 8)\n"
      "  --check full       what SQLite checks of the result before it takes its name: full\n"
      "                     (PRAGMA integrity_check, the default), quick (quick_check: b-trees\n"
      "                     and records, not indexes against their tables; faster on a large\n"
      "                     database with indexes) or none (the LTX checksums only)\n"
      "  --if-db-not-exists    exit 0 without doing anything when FILE exists\n"
      "  --if-replica-exists   exit 0 without doing anything when there is no replica (no LTX\n"
      "                        files at the URL)\n"
      "\n"
      "exit status: 0 restored (or nothing to do with --if-...), 1 failed, 2 bad usage,\n"
      "             3 the output (or its -wal, -shm, -journal) exists, 4 no replica at the URL\n"
      "\n%s",
      kReplicaUrlHelp);
}

int run_restore(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    print_restore_usage(stdout);
    return kExitOk;
  }
  const auto request = parse_request(args);
  if (!request) return kExitUsage;
  if (auto code = check_output(*request)) return *code;
  try {
    auto opened = open_replica(request->url);
    const auto files = history::list_ltx_files(*opened.store, opened.layout);
    if (files.empty()) {
      if (request->if_replica_exists) {
        std::printf("no replica at %s; nothing restored (--if-replica-exists)\n",
                    opened.url.to_string().c_str());
        return kExitOk;
      }
      fail(kCommand, "no replica at " + opened.url.to_string() +
                         ": it holds no LTX files (nothing was replicated there yet, or the URL "
                         "is wrong). --if-replica-exists makes this exit 0");
      return kExitNoReplica;
    }
    const history::RestoreGraph graph(files);
    const auto target = choose_target(*request, opened, files, graph);
    if (!target) return kExitFailure;
    history::RestoreOptions options;
    options.parallelism = request->jobs;
    options.overwrite = request->force;
    std::string check = "skipped (--check none)";
    if (!request->check.empty()) {
      options.verify = [&](const std::string& temp) {
        check = integrity_check(temp, request->check);
        if (check != "ok") {
          throw history::RestoreError("the restored database fails PRAGMA " + request->check +
                                      " (" + check + "); " + request->output +
                                      " was left as it was");
        }
      };
    }
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    if (tty) options.progress = show_progress;
    // A file that fails verification is set aside and another chain tried (a corrupt compacted
    // file or snapshot need not stop a restore the level-0 files can still do).
    const auto result = history::restore_around_bad_files(
        *opened.store, files, *target, request->output, options,
        [&](const std::string& key, const std::string& why) {
          if (tty) std::fprintf(stderr, "\n");
          warn(kCommand, key + " fails verification (" + why +
                             "); trying another chain without it. Replace or delete it: "
                             "compaction and replicas may stop on it");
        });
    if (tty) std::fprintf(stderr, "\n");
    std::printf("restored %s at TXID %" PRIu64
                " (%u pages of %u bytes) from %zu files, %s downloaded; %s: %s\n",
                request->output.c_str(), result.txid, result.commit, result.page_size, result.files,
                human_bytes(result.bytes_downloaded).c_str(),
                request->check.empty() ? "integrity_check" : request->check.c_str(), check.c_str());
    return kExitOk;
  } catch (const std::exception& e) {
    fail(kCommand, e.what());
    return kExitFailure;
  }
}

}  // namespace ltxvfs::cli
