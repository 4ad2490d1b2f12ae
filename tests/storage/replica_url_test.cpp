#include <catch2/catch.hpp>

#include "storage/object_store.h"
#include "storage/replica_url.h"

using namespace ltxvfs::storage;

namespace {
// The message of the kInvalidArgument error `url` must produce.
std::string rejection(const std::string& url) {
  try {
    parse_replica_url(url);
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreErrorKind::kInvalidArgument);
    return e.what();
  }
  FAIL("accepted: " << url);
  return "";
}
}  // namespace

TEST_CASE("replica URL: s3 with every query parameter", "[url]") {
  auto u = parse_replica_url(
      "s3://my-bucket.v2/app/db/"
      "?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1&path_style=true");
  CHECK(u.kind == ReplicaUrl::Kind::kS3);
  CHECK(u.bucket == "my-bucket.v2");
  CHECK(u.prefix == "app/db");
  CHECK(u.endpoint == "http://127.0.0.1:9000");
  CHECK(u.region == "eu-west-1");
  CHECK(u.path_style == true);
  CHECK(u.to_string() == "s3://my-bucket.v2/app/db");
}

TEST_CASE("replica URL: s3 defaults and prefix normalisation", "[url]") {
  auto u = parse_replica_url("s3://bkt");
  CHECK(u.bucket == "bkt");
  CHECK(u.prefix.empty());
  CHECK_FALSE(u.endpoint.has_value());
  CHECK_FALSE(u.region.has_value());
  CHECK_FALSE(u.path_style.has_value());

  CHECK(parse_replica_url("s3://bkt/").prefix.empty());
  CHECK(parse_replica_url("s3://bkt//a///b//").prefix == "a/b");
  CHECK(parse_replica_url("s3://bkt/my%20app").prefix == "my app");
  auto f =
      parse_replica_url("s3://bkt/p?force_path_style=false&endpoint=https://minio.local:9000/");
  CHECK(f.path_style == false);
  CHECK(f.endpoint == "https://minio.local:9000");
}

TEST_CASE("replica URL: file URLs and directory paths", "[url]") {
  auto f = parse_replica_url("file:///var/lib/replica/");
  CHECK(f.kind == ReplicaUrl::Kind::kFile);
  CHECK(f.path == "/var/lib/replica");
  CHECK(f.to_string() == "file:///var/lib/replica");
  CHECK(parse_replica_url("file://localhost/srv/r").path == "/srv/r");
  CHECK(parse_replica_url("file:///a%20b").path == "/a b");
  CHECK(parse_replica_url("/abs/dir").path == "/abs/dir");
  CHECK(parse_replica_url("relative/dir/").path == "relative/dir");
  CHECK(parse_replica_url("relative/dir").kind == ReplicaUrl::Kind::kFile);
}

TEST_CASE("replica URL: malformed locations are rejected with a reason", "[url]") {
  CHECK_THAT(rejection(""), Catch::Contains("empty"));
  CHECK_THAT(rejection("s3://"), Catch::Contains("missing bucket"));
  CHECK_THAT(rejection("s3:///x"), Catch::Contains("missing bucket"));
  CHECK_THAT(rejection("s3:bucket"), Catch::Contains("s3://BUCKET"));
  CHECK_THAT(rejection("ftp://x"), Catch::Contains("unsupported scheme \"ftp\""));
  CHECK_THAT(rejection("s3://Bucket"), Catch::Contains("lower-case"));
  CHECK_THAT(rejection("s3://my_bucket"), Catch::Contains("lower-case"));
  CHECK_THAT(rejection("s3://ab"), Catch::Contains("3 to 63"));
  CHECK_THAT(rejection("s3://" + std::string(64, 'a')), Catch::Contains("3 to 63"));
  CHECK_THAT(rejection("s3://-bucket"), Catch::Contains("start and end"));
  CHECK_THAT(rejection("s3://bucket-"), Catch::Contains("start and end"));
  CHECK_THAT(rejection("s3://a..b"), Catch::Contains(".."));
  CHECK_THAT(rejection("s3://192.168.1.1"), Catch::Contains("IP address"));
  CHECK_THAT(rejection("s3://bkt?foo=1"), Catch::Contains("unknown query parameter \"foo\""));
  CHECK_THAT(rejection("s3://bkt?region="), Catch::Contains("no value"));
  CHECK_THAT(rejection("s3://bkt?region=a&region=b"), Catch::Contains("twice"));
  CHECK_THAT(rejection("s3://bkt?path_style=maybe"), Catch::Contains("true or false"));
  CHECK_THAT(rejection("s3://bkt?endpoint=127.0.0.1:9000"), Catch::Contains("http://"));
  CHECK_THAT(rejection("s3://bkt?endpoint=http://h/path"), Catch::Contains("no path"));
  CHECK_THAT(rejection("s3://bkt?endpoint=http://h:port"), Catch::Contains("port"));
  CHECK_THAT(rejection("s3://bkt?region=EU_WEST"), Catch::Contains("region"));
  CHECK_THAT(rejection("s3://bkt/a/../b"), Catch::Contains("'..'"));
  CHECK_THAT(rejection("file://otherhost/x"), Catch::Contains("local path"));
  CHECK_THAT(rejection("file:relative"), Catch::Contains("absolute"));
  CHECK_THAT(rejection("file:///x?y=1"), Catch::Contains("no query"));
}

TEST_CASE("replica URL: credentials in the URL are refused and never echoed", "[url]") {
  const std::string message = rejection("s3://AKID:supersecret@bucket/x");
  CHECK_THAT(message, Catch::Contains("credentials do not belong"));
  CHECK(message.find("supersecret") == std::string::npos);
  const std::string endpoint = rejection("s3://bkt?endpoint=http://u:supersecret@h");
  CHECK(endpoint.find("supersecret") == std::string::npos);
}
