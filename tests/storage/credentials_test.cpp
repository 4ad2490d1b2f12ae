#include <catch2/catch.hpp>
#include <fstream>

#include "storage/object_store.h"
#include "storage/s3/credentials.h"
#include "storage/s3/s3_store.h"
#include "storage/store_factory.h"
#include "test_util.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::TempDir;

namespace {
std::string bad_credentials_message(const Env& env) {
  try {
    resolve_credentials(env, "s3://bkt/app");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreErrorKind::kBadCredentials);
    return e.what();
  }
  FAIL("credentials were found");
  return "";
}
}  // namespace

TEST_CASE("credentials: the environment comes first", "[credentials]") {
  auto creds = resolve_credentials(Env::from_map({{"AWS_ACCESS_KEY_ID", "AKID"},
                                                  {"AWS_SECRET_ACCESS_KEY", "SECRET"},
                                                  {"AWS_SESSION_TOKEN", "TOKEN"},
                                                  {"AWS_PROFILE", "does-not-matter"}}),
                                   "x");
  CHECK(creds.access_key_id == "AKID");
  CHECK(creds.secret_access_key == "SECRET");
  CHECK(creds.session_token == "TOKEN");
  CHECK(creds.source == "environment");
}

TEST_CASE("credentials: profiles from the shared credentials file", "[credentials]") {
  TempDir home;
  std::filesystem::create_directories(home.path() + "/.aws");
  std::ofstream(home.path() + "/.aws/credentials")
      << "# comment\n[default]\naws_access_key_id = "
         "DEFAULTID\naws_secret_access_key=DEFAULTSECRET\n"
         "\n[work]\n; another comment\naws_access_key_id=WORKID\naws_secret_access_key = "
         "WORKSECRET\n"
         "aws_session_token = WORKTOKEN\n[broken]\naws_access_key_id=X\n";

  auto d = resolve_credentials(Env::from_map({{"HOME", home.path()}}), "x");
  CHECK(d.access_key_id == "DEFAULTID");
  CHECK(d.secret_access_key == "DEFAULTSECRET");
  CHECK(d.source == "profile 'default' in " + home.path() + "/.aws/credentials");

  auto w =
      resolve_credentials(Env::from_map({{"HOME", home.path()}, {"AWS_PROFILE", "work"}}), "x");
  CHECK(w.access_key_id == "WORKID");
  CHECK(w.session_token == "WORKTOKEN");

  const std::string other = home.path() + "/elsewhere";
  std::ofstream(other) << "[default]\naws_access_key_id=OTHER\naws_secret_access_key=S\n";
  auto o = resolve_credentials(Env::from_map({{"AWS_SHARED_CREDENTIALS_FILE", other}}), "x");
  CHECK(o.access_key_id == "OTHER");

  const std::string broken =
      bad_credentials_message(Env::from_map({{"HOME", home.path()}, {"AWS_PROFILE", "broken"}}));
  CHECK_THAT(broken, Catch::Contains("lacks aws_secret_access_key"));

  const std::string missing =
      bad_credentials_message(Env::from_map({{"HOME", home.path()}, {"AWS_PROFILE", "nope"}}));
  CHECK_THAT(missing, Catch::Contains("profile 'nope'"));
  CHECK_THAT(missing, Catch::Contains("no such profile"));
  // Nothing from the file leaks into messages.
  CHECK(missing.find("DEFAULTSECRET") == std::string::npos);
  CHECK(broken.find("DEFAULTSECRET") == std::string::npos);
}

TEST_CASE("credentials: none found lists every place looked", "[credentials]") {
  TempDir home;
  const std::string message = bad_credentials_message(Env::from_map({{"HOME", home.path()}}));
  CHECK_THAT(message, Catch::Contains("no AWS credentials found for s3://bkt/app"));
  CHECK_THAT(message, Catch::Contains("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset"));
  CHECK_THAT(message, Catch::Contains(home.path() + "/.aws/credentials"));
  CHECK_THAT(message, Catch::Contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));

  const std::string half =
      bad_credentials_message(Env::from_map({{"AWS_SECRET_ACCESS_KEY", "hushhush"}}));
  CHECK_THAT(half, Catch::Contains("AWS_ACCESS_KEY_ID is not"));
  CHECK(half.find("hushhush") == std::string::npos);
}

TEST_CASE("open_store: missing S3 credentials fail at open with a clear error", "[credentials]") {
  StoreSettings settings;
  settings.env = Env::from_map({{"HOME", "/nonexistent-home"}});
  try {
    open_store("s3://bkt/app?endpoint=http://127.0.0.1:9", settings);
    FAIL("opened without credentials");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreErrorKind::kBadCredentials);
    CHECK_THAT(std::string(e.what()), Catch::Contains("s3://bkt/app"));
    CHECK_THAT(std::string(e.what()), Catch::Contains("/nonexistent-home/.aws/credentials"));
  }
}

TEST_CASE("open_store: region, endpoint and path style from the environment", "[credentials]") {
  StoreSettings settings;
  settings.env = Env::from_map({{"AWS_ACCESS_KEY_ID", "A"},
                                {"AWS_SECRET_ACCESS_KEY", "S"},
                                {"AWS_DEFAULT_REGION", "eu-central-1"},
                                {"AWS_ENDPOINT_URL", "http://127.0.0.1:9000/"}});
  auto opened = open_store("s3://bkt/app", settings);
  CHECK(opened.layout == LayoutStyle::kS3);
  CHECK(opened.store->describe() == "s3://bkt/app");
  auto* s3 = dynamic_cast<S3Store*>(opened.store.get());
  REQUIRE(s3 != nullptr);
  CHECK(s3->region() == "eu-central-1");
  CHECK(s3->endpoint() == "http://127.0.0.1:9000");
  CHECK(s3->path_style());

  settings.env = Env::from_map({{"AWS_ACCESS_KEY_ID", "A"},
                                {"AWS_SECRET_ACCESS_KEY", "S"},
                                {"AWS_REGION", "us-west-2"},
                                {"AWS_DEFAULT_REGION", "eu-central-1"}});
  auto aws = open_store("s3://bkt/app", settings);
  auto* s3aws = dynamic_cast<S3Store*>(aws.store.get());
  CHECK(s3aws->region() == "us-west-2");
  CHECK(s3aws->endpoint() == "https://s3.us-west-2.amazonaws.com");
  CHECK_FALSE(s3aws->path_style());

  settings.env = Env::from_map({{"AWS_ACCESS_KEY_ID", "A"},
                                {"AWS_SECRET_ACCESS_KEY", "S"},
                                {"AWS_ENDPOINT_URL", "ftp://x"}});
  CHECK_THROWS_AS(open_store("s3://bkt/app", settings), StoreError);
}

TEST_CASE("open_store: directories get the directory layout", "[credentials]") {
  TempDir dir;
  auto opened = open_store("file://" + dir.path() + "/replica");
  CHECK(opened.layout == LayoutStyle::kDirectory);
  CHECK(opened.store->describe() == "file://" + dir.path() + "/replica");
  CHECK(std::filesystem::is_directory(dir.path() + "/replica"));

  StoreSettings no_create;
  no_create.create_if_missing = false;
  try {
    open_store(dir.path() + "/absent", no_create);
    FAIL("opened a missing directory");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreErrorKind::kNoSuchBucket);
  }
}
