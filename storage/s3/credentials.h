// AWS credentials: where they come from, in the order the AWS SDKs look.
//
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) in the environment;
//   2. the profile AWS_PROFILE (default "default") in the shared credentials file
//      AWS_SHARED_CREDENTIALS_FILE (default $HOME/.aws/credentials).
//
// Not supported (yet): ~/.aws/config credential_process/SSO, instance metadata (IMDS), web
// identity. Secrets never appear in any message this file produces.
#pragma once

#include <optional>
#include <string>

#include "storage/s3/env.h"

namespace ltxvfs::storage {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty when none
  // Where they were found, for messages: "environment", "profile 'x' in /path". No secret.
  std::string source;
};

// Finds credentials as described above. Throws StoreError(kBadCredentials) with a message that
// lists every place it looked (and why each did not work) when none are usable. `for_what` names
// the store in that message, e.g. "s3://bucket/prefix".
Credentials resolve_credentials(const Env& env, const std::string& for_what);

// Reads one profile of a shared-credentials (INI) file. nullopt when the file or the profile does
// not exist; throws kBadCredentials when the profile exists but lacks a key.
std::optional<Credentials> read_credentials_profile(const std::string& path,
                                                    const std::string& profile);

}  // namespace ltxvfs::storage
