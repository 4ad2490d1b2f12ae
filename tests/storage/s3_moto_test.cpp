// S3Store against moto (CTest fixture "moto"): what only S3 has (buckets, addressing styles). The
// object semantics every store shares (round trips, ranges, listings, conditional writes, special
// keys, threads) are in store_contract_test.cpp, which runs them on moto too. moto does not check
// signatures; s3_s3rver_test.cpp covers those.
#include <catch2/catch.hpp>

#include "storage/s3/s3_store.h"
#include "storage/store_factory.h"
#include "store_error_of.h"
#include "test_util.h"
#include "tests/harness/s3_test_server.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::error_of;
using ltxvfs::testing::make_test_bucket;
using ltxvfs::testing::Server;
using ltxvfs::testing::span_of;
using ltxvfs::testing::text;

TEST_CASE("moto: a missing bucket is reported as such", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  auto url = server.url();
  url.replace(url.find(server.bucket), server.bucket.size(), server.bucket + "-absent");
  auto opened = open_store(url, server.settings);
  auto e = error_of([&] { opened.store->get("k"); });
  CHECK(e.kind() == StoreErrorKind::kNoSuchBucket);
  CHECK_THAT(std::string(e.what()), Catch::Contains("404 NoSuchBucket"));
  CHECK_THAT(std::string(e.what()), Catch::Contains("create bucket " + server.bucket + "-absent"));
  CHECK(error_of([&] { opened.store->list(""); }).kind() == StoreErrorKind::kNoSuchBucket);
  CHECK(error_of([&] { opened.store->put("k", span_of("v")); }).kind() ==
        StoreErrorKind::kNoSuchBucket);
}

TEST_CASE("moto: virtual-hosted addressing", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  const std::string port = server.endpoint.substr(server.endpoint.rfind(':') + 1);
  auto settings = server.settings;
  // bucket.s3.amazonaws.com:<port> is dialled on 127.0.0.1: nothing leaves the machine.
  settings.http.connect_to = {"::127.0.0.1:" + port};
  auto opened =
      open_store("s3://" + server.bucket + "/vh?endpoint=http://s3.amazonaws.com:" + port +
                     "&path_style=false&region=us-east-1",
                 settings);
  auto* s3 = dynamic_cast<S3Store*>(opened.store.get());
  REQUIRE(s3 != nullptr);
  CHECK_FALSE(s3->path_style());
  opened.store->put("k", span_of("virtual"));
  CHECK(text(opened.store->get("k").body) == "virtual");
  // The object landed in the bucket, as path-style access sees it.
  auto path_style = open_store(server.url("vh"), server.settings);
  CHECK(text(path_style.store->get("k").body) == "virtual");
}
