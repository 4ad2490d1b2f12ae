// Helpers for the SQLite-level replica tests: primaries made from the sample databases, replica
// URIs, query dumps to compare a replica with its primary, ltx_stats() as JSON.
#pragma once

#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/vfs/sqlite_support.h"

namespace ltxvfs::testing {

// Every row of `sql`, one line per row, columns separated by '|' (NULL as "<null>").
std::string dump(Db& db, const std::string& sql);

nlohmann::json replica_stats(Db& db);

// "file:<dir>/<name>?vfs=ltx&mode=ro&replica=<url>" + extra ("&poll_ms=..").
std::string replica_uri(const std::string& dir, const std::string& url,
                        const std::string& extra = "", const std::string& name = "cache.db");

// Copies a sample database (tests/data) to <dir>/app.db, opens it through ltx as a primary
// (which snapshots it as TXID 1) with `params` added, waits until that is uploaded, and returns
// the connection.
std::unique_ptr<Db> primary_from_sample(const std::string& sample, const std::string& dir,
                                        const std::string& params);

// Waits (up to 20 s) until the primary has uploaded everything it committed; returns its TXID.
int64_t wait_uploaded(Db& primary);

// A database image with page 1's version fields masked: a replica presents page 1 in rollback
// mode with the TXID as change counter, which is all that may differ from the primary's image.
std::vector<uint8_t> comparable_image(std::vector<uint8_t> image);

// The result code and message of running `sql`.
struct ExecResult {
  int code = SQLITE_OK;  // extended result code
  std::string message;
};
ExecResult exec_code(Db& db, const std::string& sql);

}  // namespace ltxvfs::testing
