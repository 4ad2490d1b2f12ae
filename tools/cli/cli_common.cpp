#include "tools/cli/cli_common.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>

namespace ltxvfs::cli {

const char* const kReplicaUrlHelp =
    "replica-url: s3://bucket/prefix[?endpoint=URL&region=R], file:///dir or a directory.\n"
    "S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or\n"
    "~/.aws/credentials; AWS_ENDPOINT_URL names an S3-compatible server.\n";

void fail(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "ltxvfs %s: %s\n", command.c_str(), message.c_str());
}

void warn(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "ltxvfs %s: warning: %s\n", command.c_str(), message.c_str());
}

std::optional<std::string> ParsedArgs::get(const std::string& option) const {
  auto it = values.find(option);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

bool wants_help(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(),
                     [](const std::string& a) { return a == "-h" || a == "--help"; });
}

std::optional<ParsedArgs> parse_args(const std::string& command,
                                     const std::vector<std::string>& args,
                                     const std::vector<std::string>& flags,
                                     const std::vector<std::string>& valued) {
  ParsedArgs out;
  auto known = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    std::optional<std::string> inline_value;
    if (const auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      inline_value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    if (out.has(a)) {
      fail(command, a + " given twice");
      return std::nullopt;
    }
    if (known(flags, a) && !inline_value) {
      out.values[a] = "";
    } else if (known(valued, a)) {
      if (inline_value) {
        out.values[a] = *inline_value;
      } else if (i + 1 < args.size()) {
        out.values[a] = args[++i];
      } else {
        fail(command, a + " needs a value");
        return std::nullopt;
      }
    } else {
      fail(command, "unknown option '" + args[i] + "' (see ltxvfs " + command + " --help)");
      return std::nullopt;
    }
  }
  return out;
}

storage::OpenedStore open_replica(const std::string& url) {
  storage::StoreSettings settings;
  settings.create_if_missing = false;  // a typo must not become an empty replica
  return storage::open_store(url, settings);
}

std::optional<uint64_t> parse_count(const std::string& text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return std::nullopt;
  }
  return v;
}

ltx::Header header_of(storage::ObjectStore& store, const std::string& key) {
  const auto got = store.get(key, storage::ByteRange::at(0, ltx::kHeaderSize));
  return ltx::Header::decode(got.body, key);
}

std::string human_bytes(uint64_t n) {
  char buf[32];
  if (n >= (1u << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(n) / (1u << 30));
  } else if (n >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1u << 20));
  } else if (n >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
  }
  return buf;
}

}  // namespace ltxvfs::cli
