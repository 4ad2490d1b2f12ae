// Issue 19, "the first hour of a new user", on the ltxvfs command: a version, restore flags and
// exit codes that scripts can act on, and messages that say what is the matter.

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/time_spec.h"
#include "history/writer_lease.h"
#include "history_support.h"
#include "storage/file_store.h"

using namespace historytest;
using namespace ltxvfs;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text;
  std::getline(in, text, '\0');
  return text;
}

}  // namespace

TEST_CASE("cli: --version and version print the version", "[cli]") {
  for (const char* arg : {"--version", "version"}) {
    const CliResult r = cli({arg});
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Catch::Matches("ltxvfs [0-9]+\\.[0-9]+\\.[0-9]+\n"));
  }
}

TEST_CASE("cli: restore's exit codes and --if-db-not-exists, --if-replica-exists", "[cli]") {
  const std::string dir = scratch_dir("cli-restore-codes");
  const std::string empty = dir + "/empty-replica";
  std::filesystem::create_directories(empty);
  const std::string out = dir + "/out.db";

  // No replica at the URL: 4, or 0 with --if-replica-exists; nothing is created either way.
  CliResult r = cli({"restore", empty, "-o", out});
  CHECK(r.status == 4);
  CHECK_THAT(r.output, Catch::Contains("no replica") && Catch::Contains("--if-replica-exists"));
  r = cli({"restore", empty, "-o", out, "--if-replica-exists"});
  CHECK(r.status == 0);
  CHECK_FALSE(std::filesystem::exists(out));

  // The output exists: 3, or 0 with --if-db-not-exists; it is left as it was.
  std::ofstream(out) << "mine";
  r = cli({"restore", empty, "-o", out});
  CHECK(r.status == 3);
  CHECK_THAT(r.output, Catch::Contains("--if-db-not-exists"));
  r = cli({"restore", empty, "-o", out, "--if-db-not-exists"});
  CHECK(r.status == 0);
  CHECK(read_text(out) == "mine");
  // A stale -wal beside the output counts as the output.
  std::filesystem::remove(out);
  std::ofstream(out + "-wal") << "old";
  CHECK(cli({"restore", empty, "-o", out}).status == 3);

  // Bad usage: 2. The codes are documented.
  CHECK(cli({"restore", empty}).status == 2);
  CHECK(cli({"restore", empty, "-o", out, "--force", "--if-db-not-exists"}).status == 2);
  r = cli({"restore", "--help"});
  CHECK_THAT(r.output, Catch::Contains("exit status") && Catch::Contains("4 no replica"));
}

TEST_CASE("cli: ls on an empty location says there are no files", "[cli]") {
  const std::string dir = scratch_dir("cli-ls-empty");
  std::filesystem::create_directories(dir + "/replica");
  const CliResult r = cli({"ls", dir + "/replica"});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("no LTX files"));
  CHECK_THAT(r.output, !Catch::Contains("no chain starts at a snapshot"));
}

// A writer that closed cleanly leaves a released lease (expires_at 1970-01-01): nobody holds it,
// so compact and retention go ahead without a word about it.
TEST_CASE("cli: a released lease is not reported as expired", "[cli]") {
  const std::string dir = scratch_dir("cli-released-lease");
  storage::FileStore store(dir + "/replica");
  L0Writer writer(store, LayoutStyle::kDirectory, {});
  writer.commit(base::now_ms(), 3);
  history::WriterLease lease(store, LayoutStyle::kDirectory);
  REQUIRE(lease.try_acquire().acquired);
  lease.release();
  for (const char* command : {"compact", "retention"}) {
    const CliResult r = cli({command, dir + "/replica"});
    INFO(command << ": " << r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, !Catch::Contains("1970") && !Catch::Contains("expired"));
  }
}

// `ltxvfs run`: programs that never load an extension replicate what they write.
TEST_CASE("cli: run replicates an unmodified sqlite3 shell and Python program", "[cli][shell]") {
  const std::string dir = scratch_dir("cli-run");
  const std::string shell_db = dir + "/shell.db", py_db = dir + "/py.db";
  CliResult r = cli({"run", "--", "sqlite3", shell_db,
                     "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2); SELECT 40 + 2;"});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("42") && !Catch::Contains("WARNING"));
  // Python's sqlite3 module as any program uses it: no load_extension anywhere.
  r = cli({"run", "--", "python3", "-c",
           "import sqlite3; c = sqlite3.connect(\"" + py_db +
               "\"); c.execute(\"CREATE TABLE t(x)\"); c.execute(\"INSERT INTO t VALUES "
               "(42)\"); c.commit(); c.close()"});
  CHECK(r.status == 0);
  for (const auto& [db, rows] : {std::pair{shell_db, 2}, std::pair{py_db, 1}}) {
    INFO(db);
    const std::string out = db + ".restored";
    r = cli({"restore", db + "-ltx/replica", "-o", out});
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Catch::Contains("integrity_check: ok"));
    FILE* p = ::popen(("sqlite3 '" + out + "' 'SELECT count(*) FROM t'").c_str(), "r");
    REQUIRE(p != nullptr);
    char line[64] = {};
    CHECK(std::fgets(line, sizeof line, p) != nullptr);
    ::pclose(p);
    CHECK(std::string(line) == std::to_string(rows) + "\n");
  }
  // The command's own exit status comes back.
  CHECK(cli({"run", "--", "sh", "-c", "exit 7"}).status == 7);
}

TEST_CASE("cli: run says what is wrong, and its preload alone changes nothing", "[cli][shell]") {
  const std::string dir = scratch_dir("cli-run-errors");
  CHECK(cli({"run"}).status == 2);
  CHECK(cli({"run", "sqlite3"}).status == 2);  // the command goes after --
  CliResult r = cli({"run", "--", dir + "/no-such-program"});
  CHECK(r.status == 127);
  CHECK_THAT(r.output, Catch::Contains("cannot run"));
  r = cli({"run", "--check"});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("libltxvfs.so loads and becomes the default VFS"));
  // Preloaded without `ltxvfs run` (a stray LD_PRELOAD), the helper loads nothing.
  const std::string preload =
      std::filesystem::path(LTXVFS_CLI_PATH).parent_path() / "libltxvfs_preload.so";
  REQUIRE(std::filesystem::exists(preload));
  const std::string command =
      "LD_PRELOAD='" + preload + "' sqlite3 '" + dir + "/plain.db' 'CREATE TABLE t(x)' 2>&1";
  CHECK(std::system(command.c_str()) == 0);
  CHECK(std::filesystem::exists(dir + "/plain.db"));
  CHECK_FALSE(std::filesystem::exists(dir + "/plain.db-ltx"));
}
