// The sample databases (Chinook: 4 KiB pages, Northwind: 1 KiB pages) replicated through ltx and
// read back as replicas — from a local directory and from S3 (moto) — answer a set of queries
// exactly like the local database: joins, aggregates, recursive CTEs, sorts that spill to temp
// files, temp tables.
#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/harness/s3_test_server.h"
#include "tests/replica/replica_support.h"

using namespace ltxvfs::testing;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kChinookQueries = {
    "SELECT ar.Name, count(DISTINCT al.AlbumId), count(t.TrackId), "
    "round(sum(t.Milliseconds) / 60000.0, 2) FROM Artist ar JOIN Album al ON al.ArtistId = "
    "ar.ArtistId JOIN Track t ON t.AlbumId = al.AlbumId GROUP BY ar.ArtistId ORDER BY 3 DESC, 1 "
    "LIMIT 25",
    "SELECT c.Country, count(DISTINCT c.CustomerId), round(sum(il.UnitPrice * il.Quantity), 2) "
    "FROM Customer c JOIN Invoice i ON i.CustomerId = c.CustomerId JOIN InvoiceLine il ON "
    "il.InvoiceId = i.InvoiceId GROUP BY c.Country ORDER BY 3 DESC, 1",
    "WITH RECURSIVE chain(id, name, depth) AS (SELECT EmployeeId, FirstName || ' ' || LastName, 0 "
    "FROM Employee WHERE ReportsTo IS NULL UNION ALL SELECT e.EmployeeId, e.FirstName || ' ' || "
    "e.LastName, depth + 1 FROM Employee e JOIN chain ON e.ReportsTo = chain.id) SELECT * FROM "
    "chain ORDER BY depth, id",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) SELECT i, "
    "(SELECT Name FROM Track WHERE TrackId = i * 67) FROM n",
    "SELECT GenreId, count(*), round(avg(Milliseconds), 3), max(Bytes) FROM Track GROUP BY "
    "GenreId HAVING count(*) > 10 ORDER BY 2 DESC, 1",
    // 17,515 sorted rows: with cache_size=8 the sorter spills to temp files.
    "SELECT t.TrackId, t.Name, g.Name, m.Name FROM Track t JOIN Genre g ON g.GenreId = t.GenreId, "
    "MediaType m ORDER BY t.Name || m.Name DESC, t.TrackId",
    "SELECT p.Name, count(*) FROM Playlist p JOIN PlaylistTrack pt ON pt.PlaylistId = "
    "p.PlaylistId GROUP BY p.PlaylistId ORDER BY 2 DESC, 1",
    "PRAGMA integrity_check",
};

const std::vector<std::string> kNorthwindQueries = {
    "SELECT c.Country, count(DISTINCT o.Id), round(sum(d.UnitPrice * d.Quantity * (1 - "
    "d.Discount)), 2) FROM Customer c JOIN [Order] o ON o.CustomerId = c.Id JOIN OrderDetail d ON "
    "d.OrderId = o.Id GROUP BY c.Country ORDER BY 3 DESC, 1",
    "SELECT cat.CategoryName, p.ProductName, sum(d.Quantity) AS q FROM Product p JOIN Category "
    "cat ON cat.Id = p.CategoryId JOIN OrderDetail d ON d.ProductId = p.Id GROUP BY p.Id ORDER BY "
    "q DESC, 2 LIMIT 15",
    "WITH RECURSIVE boss(id, name, lvl) AS (SELECT Id, FirstName || ' ' || LastName, 0 FROM "
    "Employee WHERE ReportsTo IS NULL UNION ALL SELECT e.Id, e.FirstName || ' ' || e.LastName, "
    "lvl + 1 FROM Employee e JOIN boss b ON e.ReportsTo = b.id) SELECT * FROM boss ORDER BY lvl, "
    "id",
    "SELECT substr(OrderDate, 1, 4) AS y, count(*), round(sum(Freight), 2) FROM [Order] GROUP BY "
    "y ORDER BY y",
    "SELECT * FROM OrderDetail ORDER BY UnitPrice * Quantity DESC, Id",
    "SELECT d.OrderId, group_concat(p.ProductName, ';') FROM OrderDetail d JOIN Product p ON "
    "p.Id = d.ProductId GROUP BY d.OrderId ORDER BY d.OrderId",
    "PRAGMA integrity_check",
};

// Temp tables and a temp index live in the temp database (the local default VFS).
const std::string kTempWork =
    "CREATE TEMP TABLE scratch AS SELECT * FROM sqlite_schema; "
    "CREATE INDEX temp.scratch_name ON scratch(name); "
    "INSERT INTO scratch SELECT * FROM scratch";

void check_replica_matches(const std::string& sample, const std::vector<std::string>& queries,
                           const std::string& dir, const std::string& primary_params,
                           const std::string& replica_url, const std::string& replica_extra) {
  auto primary = primary_from_sample(sample, dir, "&durability=remote" + primary_params);
  REQUIRE(primary->query_int("SELECT ltx_txid()") >= 1);
  Db reference("file:" + std::string(LTXVFS_TEST_DATA_DIR) + "/" + sample + "?mode=ro",
               SQLITE_OPEN_READONLY);
  Db replica(replica_uri(dir, replica_url, replica_extra), SQLITE_OPEN_READONLY);
  replica.exec("PRAGMA cache_size = 8; PRAGMA temp_store = FILE");
  reference.exec("PRAGMA cache_size = 8; PRAGMA temp_store = FILE");
  for (const auto& sql : queries) {
    INFO(sql);
    CHECK(dump(replica, sql) == dump(reference, sql));
  }
  replica.exec(kTempWork);
  CHECK(replica.query_int("SELECT count(*) FROM temp.scratch") ==
        2 * reference.query_int("SELECT count(*) FROM sqlite_schema"));
  // No local database file was needed (nor created) for the replica.
  CHECK_FALSE(fs::exists(dir + "/cache.db"));
  CHECK_FALSE(fs::exists(dir + "/cache.db-journal"));
  const auto stats = replica_stats(replica);
  CHECK(stats["role"] == "replica");
  CHECK(stats["txid"].get<uint64_t>() >= 1);
  CHECK(stats["cache"]["misses"].get<uint64_t>() > 0);
}

}  // namespace

TEST_CASE("Chinook through a directory replica matches the local database", "[replica]") {
  const std::string dir = scratch_dir("chinook-dir");
  check_replica_matches("Chinook_Sqlite.sqlite", kChinookQueries, dir, "",
                        dir + "/app.db-ltx/replica", "");
}

TEST_CASE("Northwind through a directory replica matches (Litestream format, no prefetch)",
          "[replica]") {
  const std::string dir = scratch_dir("northwind-dir");
  check_replica_matches("Northwind_small.sqlite", kNorthwindQueries, dir, "&format=litestream",
                        dir + "/app.db-ltx/replica", "&prefetch=0&cache_mb=1");
}

TEST_CASE("Chinook and Northwind through S3 replicas match the local databases", "[moto]") {
  const auto bucket = make_test_bucket(Server::kMoto);
  const std::string dir = scratch_dir("samples-s3");
  fs::create_directories(dir + "/chinook");
  fs::create_directories(dir + "/northwind");
  const std::string s3 = "&replica=s3://" + bucket.bucket;
  const std::string endpoint = "&endpoint=" + bucket.endpoint;
  check_replica_matches("Chinook_Sqlite.sqlite", kChinookQueries, dir + "/chinook",
                        s3 + "/chinook" + endpoint, "s3://" + bucket.bucket + "/chinook", endpoint);
  check_replica_matches("Northwind_small.sqlite", kNorthwindQueries, dir + "/northwind",
                        s3 + "/northwind" + endpoint + "&format=litestream",
                        "s3://" + bucket.bucket + "/northwind", endpoint + "&region=us-east-1");
}
