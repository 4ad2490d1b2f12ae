// Env: the process environment as an injectable lookup, so configuration code can be tested
// without mutating the real environment (setenv is not thread-safe, and the extension lives in
// someone else's process).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace ltxvfs::storage {

class Env {
 public:
  using Lookup = std::function<std::optional<std::string>(const std::string& name)>;

  explicit Env(Lookup lookup) : lookup_(std::move(lookup)) {}

  // Reads the real environment (getenv) at the time of each lookup.
  static Env process();
  // A fixed environment, for tests.
  static Env from_map(std::map<std::string, std::string> vars);

  // The value of `name`, or nullopt when unset. An empty value counts as unset, as in the AWS
  // SDKs: `AWS_REGION= cmd` must not select a region called "".
  std::optional<std::string> get(const std::string& name) const;
  // The first of `names` that is set.
  std::optional<std::string> first_of(std::initializer_list<const char*> names) const;

 private:
  Lookup lookup_;
};

}  // namespace ltxvfs::storage
