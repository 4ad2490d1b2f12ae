#include "storage/s3/env.h"

#include <cstdlib>

namespace ltxvfs::storage {

Env Env::process() {
  return Env([](const std::string& name) -> std::optional<std::string> {
    // getenv is safe to call concurrently as long as nobody calls setenv; we never do.
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

Env Env::from_map(std::map<std::string, std::string> vars) {
  return Env([vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

std::optional<std::string> Env::get(const std::string& name) const {
  if (!lookup_) return std::nullopt;
  auto value = lookup_(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::optional<std::string> Env::first_of(std::initializer_list<const char*> names) const {
  for (const char* name : names) {
    if (auto value = get(name)) return value;
  }
  return std::nullopt;
}

}  // namespace ltxvfs::storage
