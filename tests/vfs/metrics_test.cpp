// ltx_metrics() and LTX_METRICS_FILE (issue 18): every database of the process in the Prometheus
// text format, checked by the reference parser (python3-prometheus-client), values compared with
// each database's own ltx_stats().
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/vfs/sqlite_support.h"

using namespace ltxvfs::testing;

namespace {

struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// name -> samples, as prometheus_client's parser reads `text` (fails the test when it cannot).
std::multimap<std::string, Sample> parse_prometheus(const std::string& text,
                                                    const std::string& dir) {
  const std::string in = dir + "/metrics.txt", script = dir + "/parse.py";
  std::ofstream(in) << text;
  std::ofstream(script)
      << "import json, sys\n"
         "from prometheus_client.parser import text_string_to_metric_families\n"
         "for family in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
         "    for s in family.samples:\n"
         "        print(json.dumps([s.name, s.labels, s.value]))\n";
  std::string out;
  const int rc =
      run_command(std::string(LTXVFS_SYSTEM_PYTHON3) + " " + script + " " + in + " 2>&1", &out);
  INFO(out);
  REQUIRE(rc == 0);
  std::multimap<std::string, Sample> samples;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    samples.emplace(j[0].get<std::string>(),
                    Sample{j[1].get<std::map<std::string, std::string>>(), j[2].get<double>()});
  }
  return samples;
}

// The value of `name` for the database `db` (and `extra` labels); fails when absent.
double value_of(const std::multimap<std::string, Sample>& samples, const std::string& name,
                const std::string& db, const std::map<std::string, std::string>& extra = {}) {
  auto [from, to] = samples.equal_range(name);
  for (auto it = from; it != to; ++it) {
    bool match = it->second.labels.at("db") == db;
    for (const auto& [k, v] : extra)
      match = match && it->second.labels.count(k) && it->second.labels.at(k) == v;
    if (match) return it->second.value;
  }
  FAIL("no sample " << name << " for " << db);
  return -1;
}

}  // namespace

TEST_CASE("ltx_metrics: every database of the process, in the Prometheus text format",
          "[metrics][shell]") {
  load_ltx_extension();
  const std::string dir = scratch_dir("metrics");
  // A quote and a backslash in a path: label values must be escaped for the parser to read them.
  const std::string a_dir = dir + "/a", b_dir = dir + "/we\"ird\\b";
  std::filesystem::create_directories(a_dir);
  std::filesystem::create_directories(b_dir);
  Db a(primary_uri(a_dir));
  a.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  auto b = std::make_unique<Db>("file:" + b_dir + "/app.db?vfs=ltx&upload_interval_ms=0");
  b->exec("CREATE TABLE u(y); INSERT INTO u VALUES (2); INSERT INTO u VALUES (3);");
  const int64_t a_txid = a.query_int("SELECT ltx_txid()");
  const int64_t b_txid = b->query_int("SELECT ltx_txid()");
  REQUIRE(b_txid > a_txid);
  Db r("file:" + dir + "/r.db?vfs=ltx&mode=ro&replica=file://" + replica_dir(a_dir),
       SQLITE_OPEN_READONLY);
  REQUIRE(r.query_int("SELECT count(*) FROM t") == 1);

  const auto samples = parse_prometheus(a.query_text("SELECT ltx_metrics()"), dir);
  const nlohmann::json sa = stats_of(a);
  const std::string a_db = a_dir + "/app.db", b_db = b_dir + "/app.db";
  CHECK(value_of(samples, "ltx_writer_commits_total", a_db) == sa["commits"].get<double>());
  CHECK(value_of(samples, "ltx_writer_txid", a_db) == a_txid);
  CHECK(value_of(samples, "ltx_writer_txid", b_db) == b_txid);
  CHECK(value_of(samples, "ltx_writer_uploaded_txid", a_db) == a_txid);  // durability=remote
  CHECK(value_of(samples, "ltx_writer_lease_held", a_db) == 1);
  CHECK(value_of(samples, "ltx_writer_lease_held", b_db) == 1);
  CHECK(value_of(samples, "ltx_writer_stopped", a_db) == 0);
  CHECK(value_of(samples, "ltx_store_requests_total", a_db,
                 {{"kind", "put"}, {"role", "primary"}}) == sa["store"]["puts"].get<double>());
  // A healthy writer has failed nothing: the GETs of an absent lock.json and head.json are
  // answers, not failures (they counted 1 before).
  CHECK(value_of(samples, "ltx_store_failures_total", a_db, {{"role", "primary"}}) == 0);
  CHECK(value_of(samples, "ltx_store_not_sent_total", a_db, {{"role", "primary"}}) ==
        sa["store"]["not_sent"].get<double>());
  const nlohmann::json sr = stats_of(r);
  const std::string r_db = dir + "/r.db";
  CHECK(value_of(samples, "ltx_replica_txid", r_db) == sr["txid"].get<double>());
  CHECK(value_of(samples, "ltx_replica_txid", r_db) == a_txid);
  CHECK(value_of(samples, "ltx_store_requests_total", r_db,
                 {{"kind", "list"}, {"role", "replica"}}) >= 1);

  // A closed database leaves the metrics.
  b.reset();
  const auto after = parse_prometheus(a.query_text("SELECT ltx_metrics()"), dir);
  CHECK(after.count("ltx_writer_txid") == 1);
}

TEST_CASE("LTX_METRICS_FILE: the metrics rewritten for node_exporter's textfile collector",
          "[metrics][shell]") {
  const std::string dir = scratch_dir("metrics-file");
  const std::string file = dir + "/ltx.prom", script = dir + "/writer.py";
  // Python's sqlite3 as the host: the variables are read when the extension loads.
  std::ofstream(script)
      << "import sqlite3, sys, time, os\n"
         "c = sqlite3.connect(':memory:')\n"
         "c.enable_load_extension(True)\n"
         "c.load_extension(sys.argv[1])\n"
         "d = sqlite3.connect('file:' + sys.argv[2] + '/app.db?vfs=ltx', uri=True)\n"
         "d.execute('CREATE TABLE t(x)')\n"
         "d.commit()\n"
         // Until a rewrite shows the commit built: the first ones may come before the build.
         "def txid(text):\n"
         "    for line in text.splitlines():\n"
         "        if line.startswith('ltx_writer_txid{'):\n"
         "            return float(line.rsplit(' ', 1)[1])\n"
         "    return 0\n"
         "for _ in range(100):\n"
         "    if os.path.exists(sys.argv[3]) and txid(open(sys.argv[3]).read()) >= 1:\n"
         "        break\n"
         "    time.sleep(0.05)\n"
         "print(open(sys.argv[3]).read())\n";
  std::string out;
  const int rc = run_command("LTX_METRICS_FILE=" + file + " LTX_METRICS_INTERVAL=50ms " +
                                 std::string(LTXVFS_SYSTEM_PYTHON3) + " " + script + " " +
                                 LTXVFS_EXTENSION_PATH + " " + dir + " " + file + " 2>&1",
                             &out);
  INFO(out);
  REQUIRE(rc == 0);
  const auto samples = parse_prometheus(out, dir);
  CHECK(value_of(samples, "ltx_writer_txid", dir + "/app.db") >= 1);  // CREATE TABLE
  CHECK_FALSE(std::filesystem::exists(file + ".tmp"));
  // A malformed interval fails the load, naming the variable.
  CHECK(run_command("LTX_METRICS_FILE=" + file + " LTX_METRICS_INTERVAL=soon " +
                        std::string(LTXVFS_SYSTEM_PYTHON3) + " " + script + " " +
                        LTXVFS_EXTENSION_PATH + " " + dir + " " + file + " 2>&1",
                    &out) != 0);
  CHECK_THAT(out, Catch::Contains("LTX_METRICS_INTERVAL"));
}
