// Measurements for the report, not run by default (hidden: tags [.][bench]): requests and bytes of
// a cold point query and of a full scan on a database of about 100 MB, from a directory replica and
// from S3 (moto). Run: replica_sqlite_tests "[.][bench]" -s   (the [moto] one through the fixture).
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>

#include "tests/harness/s3_test_server.h"
#include "tests/replica/replica_support.h"

using namespace ltxvfs::testing;
using Clock = std::chrono::steady_clock;

namespace {

void measure(const std::string& dir, const std::string& primary_params,
             const std::string& replica_url, const std::string& replica_extra) {
  {
    Db primary("file:" + dir + "/app.db?vfs=ltx&durability=remote" + primary_params);
    primary.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    for (int batch = 0; batch < 10; ++batch) {
      primary.exec(
          "INSERT INTO t(v) SELECT randomblob(1000) FROM (WITH RECURSIVE n(i) AS "
          "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) SELECT i FROM n)");
    }
    std::cout << "primary: " << primary.query_int("PRAGMA page_count") * 4096 / 1e6 << " MB, TXID "
              << primary.query_int("SELECT ltx_txid()") << "\n";
  }
  auto t0 = Clock::now();
  Db r(replica_uri(dir, replica_url, replica_extra), SQLITE_OPEN_READONLY);
  auto ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  };
  std::cout << "open: " << ms() << " ms " << replica_stats(r).dump() << "\n";
  t0 = Clock::now();
  CHECK(r.query_int("SELECT length(v) FROM t WHERE id = 54321") == 1000);
  std::cout << "cold point query: " << ms() << " ms " << replica_stats(r).dump() << "\n";
  t0 = Clock::now();
  CHECK(r.query_int("SELECT sum(length(v)) FROM t") == 100'000'000);
  std::cout << "full scan: " << ms() << " ms " << replica_stats(r).dump() << "\n";
}

}  // namespace

TEST_CASE("100 MB: cold point query and full scan from a directory", "[.][bench]") {
  const std::string dir = scratch_dir("bench-dir");
  measure(dir, "", dir + "/app.db-ltx/replica", "");
}

TEST_CASE("100 MB: cold point query and full scan from S3 (moto)", "[.][bench][moto]") {
  const auto bucket = make_test_bucket(Server::kMoto);
  const std::string dir = scratch_dir("bench-s3");
  measure(dir, "&replica=s3://" + bucket.bucket + "/big&endpoint=" + bucket.endpoint,
          "s3://" + bucket.bucket + "/big", "&endpoint=" + bucket.endpoint);
}
