// Where keys come from: the environment variable LTX_ENCRYPTION_KEY, or a key file. Never a URI
// or a command-line argument (both get logged and shown in process lists).
#pragma once

#include <string>

#include "ltx/encryption_key.h"

namespace ltxvfs::ltx {

inline constexpr const char* kKeyEnvVar = "LTX_ENCRYPTION_KEY";

// Reads the keys of a key file (KeyRing::parse). Refuses, with LtxError kInvalidArgument naming
// the mode and the chmod that fixes it, a file that group or others may read or write.
KeyRing read_key_file(const std::string& path);

// The keys a database, replica or command uses: the key file's when `key_file` is non-empty,
// else LTX_ENCRYPTION_KEY's, else none. Registers them (register_keys) for the process's readers.
KeyRing load_keys(const std::string& key_file);

}  // namespace ltxvfs::ltx
