// One replica setting for every tenant (issue 18): `LTX_REPLICA_URL=s3://bucket/tenants/{name}`
// (or `replica=`) gives each database opened through ltx its own location.
//
//   {name}  the database's file name, without its directory ("tenant42.db")
//   {path}  its path relative to `root` (replica_root= / LTX_REPLICA_ROOT), e.g. "eu/tenant42.db"
//           for /srv/data/eu/tenant42.db under /srv/data: names that repeat in several
//           directories stay apart
//
// Anything else in braces is refused (a typo must not send every tenant to one location).
#pragma once

#include <optional>
#include <string>

namespace ltxvfs::writer {

// `url` with its placeholders replaced for the database at `db_path` (absolute, as SQLite names
// it). Throws ConfigError (config.h) naming the placeholder, the database and what to do.
std::string expand_replica_template(const std::string& url, const std::string& db_path,
                                    const std::optional<std::string>& root);

}  // namespace ltxvfs::writer
