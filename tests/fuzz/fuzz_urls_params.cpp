// libFuzzer target: what users type. Every input goes through
//   replica URLs         storage/replica_url.cpp   parse_replica_url (+ to_string round trip)
//   replica URI params   vfs/replica/options.cpp   parse_replica_options, store_url
//   writer URI params    vfs/writer/config.cpp     load_config (history policy included)
//   durations, levels    history/history_policy.cpp
//   time specs           base/time_spec.cpp, base/time_util.cpp
// URI parameters come from the input's lines, "key=value" each (a line without '=' is a key with
// an empty value). Bad input may only throw the parsers' documented exceptions.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/time_spec.h"
#include "base/time_util.h"
#include "history/history_policy.h"
#include "storage/replica_url.h"
#include "tests/fuzz/fuzz_support.h"
#include "vfs/replica/options.h"
#include "vfs/writer/config.h"

using namespace ltxvfs;

namespace {

std::vector<std::pair<std::string, std::string>> split_params(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(std::string(line), std::string());
    } else {
      out.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

void url(std::string_view text) {
  fuzz::expect_clean_rejection([&] {
    const storage::ReplicaUrl u = storage::parse_replica_url(text);
    // The canonical spelling of an S3 URL must parse to the same location. It is a spelling for
    // messages and does not percent-encode again: a prefix holding '%' (from "%25") is left out.
    if (u.kind == storage::ReplicaUrl::Kind::kS3 && u.prefix.find('%') == std::string::npos) {
      const storage::ReplicaUrl again = storage::parse_replica_url(u.to_string());
      if (again.bucket != u.bucket || again.prefix != u.prefix) std::abort();
    }
  });
  fuzz::expect_clean_rejection([&] {
    std::string why;
    (void)storage::is_valid_bucket_name(text, &why);
    (void)storage::normalize_endpoint(text, &why);
  });
}

void params(const std::vector<std::pair<std::string, std::string>>& pairs) {
  fuzz::expect_clean_rejection([&] {
    const auto o = replica::parse_replica_options("/tmp/fuzz-replica.db", pairs);
    (void)storage::parse_replica_url(o.store_url());
  });
  const std::map<std::string, std::string> map(pairs.begin(), pairs.end());
  const writer::Lookup uri = [&](const std::string& name) -> std::optional<std::string> {
    const auto it = map.find(name);
    if (it == map.end()) return std::nullopt;
    return it->second;
  };
  const writer::Lookup env = [](const std::string&) { return std::nullopt; };
  fuzz::expect_clean_rejection([&] {
    const writer::Config c = writer::load_config("/tmp/fuzz.db", uri, env);
    (void)storage::parse_replica_url(c.replica_url);
  });
}

void times(std::string_view text) {
  fuzz::expect_clean_rejection([&] { (void)history::parse_duration_ms("p", text); });
  fuzz::expect_clean_rejection([&] { (void)history::parse_duration_or_off_ms("p", text); });
  fuzz::expect_clean_rejection([&] {
    for (const std::int64_t ms : history::parse_levels("p", text)) {
      (void)history::format_duration_ms(ms);
    }
  });
  fuzz::expect_clean_rejection([&] {
    if (const auto ms = base::parse_rfc3339_ms(text)) {
      // What format_rfc3339_ms writes must read back as the same instant.
      if (*ms >= 0 && base::parse_rfc3339_ms(base::format_rfc3339_ms(*ms)) != ms) std::abort();
    }
  });
  fuzz::expect_clean_rejection([&] {
    (void)base::parse_time_target(text, 0);
    (void)base::parse_time_target(text, 1'800'000'000'000);
    (void)base::parse_http_date_ms(text);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  url(text);
  params(split_params(text));
  times(text);
  return 0;
}
