// One replica setting for every tenant (issue 18): replica= / LTX_REPLICA_URL with {name} and
// {path} (vfs/writer/replica_template.h).
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>

#include "vfs/writer/config.h"
#include "vfs/writer/replica_template.h"

using ltxvfs::writer::ConfigError;
using ltxvfs::writer::expand_replica_template;

namespace {

std::string error_of(const std::string& url, const std::string& db,
                     const std::optional<std::string>& root) {
  try {
    expand_replica_template(url, db, root);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("replica templates: {name} and {path} give each database its own location",
          "[config][unit]") {
  CHECK(expand_replica_template("s3://b/tenants/{name}", "/srv/data/t42.db", std::nullopt) ==
        "s3://b/tenants/t42.db");
  CHECK(expand_replica_template("s3://b/{path}/ltx", "/srv/data/eu/t42.db", "/srv/data") ==
        "s3://b/eu/t42.db/ltx");
  CHECK(expand_replica_template("s3://b/{path}", "/srv/data/eu/t42.db", "/srv/data/") ==
        "s3://b/eu/t42.db");
  CHECK(expand_replica_template("file:///r/plain", "/srv/a.db", std::nullopt) == "file:///r/plain");
  CHECK_THAT(error_of("s3://b/{nmae}", "/srv/a.db", std::nullopt),
             Catch::Contains("unknown placeholder '{nmae}'") && Catch::Contains("{name}"));
  CHECK_THAT(error_of("s3://b/{name", "/srv/a.db", std::nullopt),
             Catch::Contains("unknown placeholder '{name'"));
  CHECK_THAT(error_of("s3://b/{path}", "/srv/a.db", std::nullopt), Catch::Contains("replica_root"));
  CHECK_THAT(error_of("s3://b/{path}", "/elsewhere/a.db", "/srv/data"),
             Catch::Contains("not under replica_root /srv/data"));
  CHECK_THAT(error_of("s3://b/{path}", "/srv/data/../x/a.db", "/srv/data"),
             Catch::Contains("not under replica_root"));
}

TEST_CASE("replica templates: load_config expands LTX_REPLICA_URL with LTX_REPLICA_ROOT",
          "[config][unit]") {
  const std::map<std::string, std::string> env = {{"LTX_REPLICA_URL", "file:///rep/{path}"},
                                                  {"LTX_REPLICA_ROOT", "/srv"}};
  const auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  const auto from_env = [&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  CHECK(ltxvfs::writer::load_config("/srv/a/t.db", none, from_env).replica_url ==
        "file:///rep/a/t.db");
  // A URI parameter wins over the environment, as for every setting.
  const auto uri = [](const std::string& k) -> std::optional<std::string> {
    if (k == "replica") return "file:///own/{name}";
    return std::nullopt;
  };
  CHECK(ltxvfs::writer::load_config("/srv/a/t.db", uri, from_env).replica_url ==
        "file:///own/t.db");
}
