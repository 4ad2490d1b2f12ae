// What every ltxvfs subcommand shares: option parsing, opening a replica, messages, formatting.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ltx/encryption_key.h"
#include "ltx/header.h"
#include "storage/store_factory.h"

namespace ltxvfs::cli {

// "ltxvfs <command>: <message>" on stderr.
void fail(const std::string& command, const std::string& message);
void warn(const std::string& command, const std::string& message);

// Arguments split into options and positional arguments. `flags` take no value, `valued` take
// one ("--txid N" or "--txid=N"). Unknown options, missing values and repeated options are
// errors (reported with fail(); nullopt returned).
struct ParsedArgs {
  std::map<std::string, std::string> values;  // option -> value ("" for flags)
  std::vector<std::string> positional;
  bool has(const std::string& option) const { return values.count(option) != 0; }
  std::optional<std::string> get(const std::string& option) const;
};
std::optional<ParsedArgs> parse_args(const std::string& command,
                                     const std::vector<std::string>& args,
                                     const std::vector<std::string>& flags,
                                     const std::vector<std::string>& valued);

// True when the arguments ask for help (-h, --help).
bool wants_help(const std::vector<std::string>& args);

// Opens an existing replica (never creates an empty one).
storage::OpenedStore open_replica(const std::string& url);

std::string human_bytes(uint64_t n);
// The 100-byte header of the LTX object `key` (one ranged GET); throws LtxError when it is none.
ltx::Header header_of(storage::ObjectStore& store, const std::string& key);
// A decimal whole number in [min, max]; nullopt otherwise.
std::optional<uint64_t> parse_count(const std::string& text, uint64_t min, uint64_t max);

// The writing key of this run (the first of LTX_ENCRYPTION_KEY's list or of the file given with
// --encryption-key-file), or null. main() loads it before any command runs, and registers every
// key for reading; `compact` and `retention` encrypt what they write with it.
const ltx::KeyPtr& encryption_key();
// Takes --encryption-key-file PATH (or =PATH) out of `args` and loads the keys (key_source.h).
// False, having said why on stderr, when the key file or the key is refused.
bool load_encryption_keys(std::vector<std::string>& args);

// The replica location forms and where S3 credentials come from, for every usage text.
extern const char* const kReplicaUrlHelp;

}  // namespace ltxvfs::cli
