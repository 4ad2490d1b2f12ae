#include "tools/cli/commands.h"

#include <sqlite3.h>
#include <unistd.h>

#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <optional>

#include "storage/store_factory.h"
#include "vfs/core/restore_plan.h"
#include "vfs/core/restorer.h"
#include "vfs/core/time_spec.h"

namespace ltxvfs::cli {
namespace {

void fail(const char* command, const std::string& message) {
  std::fprintf(stderr, "ltxvfs %s: %s\n", command, message.c_str());
}

std::optional<uint64_t> parse_u64(const std::string& s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Runs PRAGMA integrity_check on the restored file; returns "ok" or SQLite's report.
std::string integrity_check(const std::string& path) {
  sqlite3* db = nullptr;
  std::string result;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    result = std::string("cannot open: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return result;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      if (!result.empty()) result += "; ";
      result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
  } else {
    result = sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

std::string human_bytes(uint64_t n) {
  char buf[32];
  if (n >= (1u << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(n) / (1u << 30));
  } else if (n >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1u << 20));
  } else if (n >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
  }
  return buf;
}

storage::OpenedStore open_replica(const std::string& url) {
  storage::StoreSettings settings;
  settings.create_if_missing = false;  // a restore must not invent an empty replica
  return storage::open_store(url, settings);
}

}  // namespace

void print_usage() {
  std::fprintf(stderr,
               "usage:\n"
               "  ltxvfs restore <replica-url> -o <out.db> [--txid N | --timestamp WHEN]\n"
               "                 [--force] [--jobs N]\n"
               "  ltxvfs ls <replica-url>\n"
               "\n"
               "WHEN: RFC 3339 (2026-11-20T10:00:00Z), 'YYYY-MM-DD HH:MM:SS' (UTC) or "
               "'5 minutes ago'.\n"
               "replica-url: s3://bucket/prefix[?endpoint=URL&region=R], file:///dir or a "
               "directory.\n"
               "S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / "
               "AWS_SESSION_TOKEN or ~/.aws/credentials.\n");
}

int run_restore(const std::vector<std::string>& args) {
  std::string url, output;
  std::optional<uint64_t> txid;
  std::optional<int64_t> timestamp;
  bool force = false;
  unsigned jobs = 8;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      if (i + 1 >= args.size()) {
        fail("restore", std::string(flag) + " needs a value");
        return std::nullopt;
      }
      return args[++i];
    };
    if (a == "-o" || a == "--output") {
      auto v = value("-o");
      if (!v) return 2;
      output = *v;
    } else if (a == "--txid") {
      auto v = value("--txid");
      if (!v) return 2;
      txid = parse_u64(*v);
      if (!txid || *txid == 0) {
        fail("restore", "--txid '" + *v + "': expected a TXID (a whole number from 1)");
        return 2;
      }
    } else if (a == "--timestamp") {
      auto v = value("--timestamp");
      if (!v) return 2;
      const auto when = core::parse_time_target(*v, core::now_ms());
      if (!when || when->latest) {
        fail("restore", "--timestamp '" + *v + "': " + std::string(core::kTimeSpecHelp) +
                            " ('latest' is the default: omit --timestamp)");
        return 2;
      }
      timestamp = when->ms;
    } else if (a == "--force") {
      force = true;
    } else if (a == "--jobs") {
      auto v = value("--jobs");
      if (!v) return 2;
      auto n = parse_u64(*v);
      if (!n || *n == 0 || *n > 64) {
        fail("restore", "--jobs '" + *v + "': expected 1 to 64");
        return 2;
      }
      jobs = static_cast<unsigned>(*n);
    } else if (!a.empty() && a[0] == '-') {
      fail("restore", "unknown option '" + a + "'");
      return 2;
    } else if (url.empty()) {
      url = a;
    } else {
      fail("restore", "unexpected argument '" + a + "'");
      return 2;
    }
  }
  if (url.empty() || output.empty()) {
    print_usage();
    return 2;
  }
  if (txid && timestamp) {
    fail("restore", "give --txid or --timestamp, not both");
    return 2;
  }
  try {
    auto opened = open_replica(url);
    auto files = core::list_ltx_files(*opened.store, opened.layout);
    uint64_t target = 0;
    if (txid) {
      target = *txid;
    } else if (timestamp) {
      target = core::txid_at_time(*opened.store, files, *timestamp);
    } else {
      uint64_t gap_after = 0;
      target = core::newest_restorable_txid(files, &gap_after);
      if (target == 0) {
        fail("restore", opened.url.to_string() + " holds no restorable LTX files");
        return 1;
      }
      if (gap_after != 0) {
        fail("restore", "the replica has a gap after TXID " + std::to_string(gap_after) +
                            ": newer files cannot be applied. Restore the newest consistent "
                            "state with --txid " +
                            std::to_string(gap_after));
        return 1;
      }
    }
    auto plan = core::plan_restore(files, target);
    core::RestoreOptions options;
    options.parallelism = jobs;
    options.overwrite = force;
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    if (tty) {
      options.progress = [](const core::RestoreProgress& p) {
        const int width = 30;
        const int filled =
            p.files_total == 0 ? width : static_cast<int>(width * p.files_done / p.files_total);
        std::fprintf(stderr, "\r[%-*s] %zu/%zu files, %s", width,
                     std::string(static_cast<size_t>(filled), '#').c_str(), p.files_done,
                     p.files_total, human_bytes(p.bytes_downloaded).c_str());
        std::fflush(stderr);
      };
    }
    auto result = core::restore(*opened.store, plan, output, options);
    if (tty) std::fprintf(stderr, "\n");
    const std::string check = integrity_check(output);
    if (check != "ok") {
      fail("restore", output + " was restored but fails PRAGMA integrity_check: " + check);
      return 1;
    }
    std::printf("restored %s at TXID %" PRIu64
                " (%u pages of %u bytes) from %zu files, %s "
                "downloaded; integrity_check: ok\n",
                output.c_str(), result.txid, result.commit, result.page_size, plan.size(),
                human_bytes(result.bytes_downloaded).c_str());
    return 0;
  } catch (const std::exception& e) {
    fail("restore", e.what());
    return 1;
  }
}

int run_ls(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    print_usage();
    return 2;
  }
  try {
    auto opened = open_replica(args[0]);
    auto files = core::list_ltx_files(*opened.store, opened.layout);
    std::printf("%s: %zu LTX files\n", opened.url.to_string().c_str(), files.size());
    std::printf("%-5s %-16s %-16s %10s  %s\n", "level", "min_txid", "max_txid", "size",
                "modified (UTC)");
    std::map<uint32_t, std::pair<size_t, uint64_t>> per_level;
    for (const auto& f : files) {
      std::printf("%-5u %016" PRIx64 " %016" PRIx64 " %10s  %s\n", f.level, f.min_txid, f.max_txid,
                  human_bytes(f.size).c_str(), core::format_rfc3339_ms(f.last_modified_ms).c_str());
      per_level[f.level].first++;
      per_level[f.level].second += f.size;
    }
    for (const auto& [level, agg] : per_level) {
      std::printf("level %u: %zu files, %s\n", level, agg.first, human_bytes(agg.second).c_str());
    }
    uint64_t gap_after = 0;
    const uint64_t newest = core::newest_restorable_txid(files, &gap_after);
    std::printf("newest restorable TXID: %" PRIu64 "\n", newest);
    if (gap_after != 0) {
      std::printf("warning: gap after TXID %" PRIu64 ": newer files cannot be applied\n",
                  gap_after);
    }
    return 0;
  } catch (const std::exception& e) {
    fail("ls", e.what());
    return 1;
  }
}

}  // namespace ltxvfs::cli
