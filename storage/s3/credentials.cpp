#include "storage/s3/credentials.h"

#include <fstream>
#include <map>
#include <vector>

#include "storage/object_store.h"

namespace ltxvfs::storage {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto begin = s.find_first_not_of(ws);
  if (begin == std::string::npos) return "";
  auto end = s.find_last_not_of(ws);
  return s.substr(begin, end - begin + 1);
}

std::string expand_home(const std::string& path, const Env& env) {
  if (path.size() >= 1 && path[0] == '~' && (path.size() == 1 || path[1] == '/')) {
    if (auto home = env.get("HOME")) return *home + path.substr(1);
  }
  return path;
}

}  // namespace

std::optional<Credentials> read_credentials_profile(const std::string& path,
                                                    const std::string& profile) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::map<std::string, std::string> values;
  bool in_profile = false;
  bool found = false;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string name = trim(line.substr(1, line.size() - 2));
      // The credentials file names sections "[name]"; accept the config-file spelling too.
      if (name.rfind("profile ", 0) == 0) name = trim(name.substr(8));
      in_profile = name == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    values[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  if (!found) return std::nullopt;

  Credentials creds;
  creds.source = "profile '" + profile + "' in " + path;
  auto take = [&](const char* key) -> std::string {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  };
  creds.access_key_id = take("aws_access_key_id");
  creds.secret_access_key = take("aws_secret_access_key");
  creds.session_token = take("aws_session_token");
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    throw StoreError(
        StoreErrorKind::kBadCredentials,
        creds.source + " lacks " +
            (creds.access_key_id.empty() ? "aws_access_key_id" : "aws_secret_access_key") +
            " — add it, or choose another profile with AWS_PROFILE");
  }
  return creds;
}

Credentials resolve_credentials(const Env& env, const std::string& for_what) {
  std::vector<std::string> looked;

  auto key_id = env.get("AWS_ACCESS_KEY_ID");
  auto secret = env.get("AWS_SECRET_ACCESS_KEY");
  if (key_id && secret) {
    return Credentials{*key_id, *secret, env.get("AWS_SESSION_TOKEN").value_or(""), "environment"};
  }
  if (key_id || secret) {
    // Half a pair is a mistake to report, not a reason to silently fall back to a profile.
    throw StoreError(StoreErrorKind::kBadCredentials,
                     "no usable AWS credentials for " + for_what + ": " +
                         (key_id ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                                 : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") +
                         " — set both, or unset both to use a credentials-file profile");
  }
  looked.push_back("environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset)");

  const auto explicit_profile = env.get("AWS_PROFILE");
  const std::string profile = explicit_profile.value_or("default");
  std::string path;
  if (auto file = env.get("AWS_SHARED_CREDENTIALS_FILE")) {
    path = expand_home(*file, env);
  } else if (auto home = env.get("HOME")) {
    path = *home + "/.aws/credentials";
  }
  if (path.empty()) {
    looked.push_back("shared credentials file (HOME and AWS_SHARED_CREDENTIALS_FILE unset)");
  } else if (!std::ifstream(path)) {
    looked.push_back(path + " (cannot be read)");
  } else if (auto creds = read_credentials_profile(path, profile)) {
    return *creds;
  } else {
    looked.push_back("profile '" + profile + "' in " + path + " (no such profile)");
  }

  std::string message = "no AWS credentials found for " + for_what + "; looked in: ";
  for (size_t i = 0; i < looked.size(); ++i) message += (i ? "; " : "") + looked[i];
  message +=
      " — set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in "
      "the shared credentials file";
  throw StoreError(StoreErrorKind::kBadCredentials, message);
}

}  // namespace ltxvfs::storage
