// libFuzzer target: the JSON records read back from disk or the bucket. Every input goes
// through all three parsers (they share nlohmann's parser, so what one finds helps the others):
//   state.json  vfs/writer/local_state.cpp  read_local_state (throws on bad input)
//   lock.json   history/writer_lease.cpp    LeaseRecord::from_json, parse_lease_owner
//   head.json   history/head_record.cpp     HeadRecord::from_json (nullopt on bad input)
// A record that parses must survive its own round trip (to_json, from_json) unchanged.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "history/head_record.h"
#include "history/writer_lease.h"
#include "tests/fuzz/fuzz_support.h"
#include "vfs/writer/local_state.h"

using namespace ltxvfs;

namespace {

// read_local_state() reads a path: the input goes to a per-process file under TMPDIR.
const std::string& state_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/ltxvfs-fuzz-state-" +
           std::to_string(::getpid()) + ".json";
  }();
  return path;
}

void fuzz_state(std::string_view text) {
  const std::string& path = state_path();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) std::abort();
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) std::abort();
  ::close(fd);
  fuzz::expect_clean_rejection([&] {
    const auto state = writer::read_local_state(path);
    if (state && !writer::validate(*state).empty()) std::abort();  // read back invalid
  });
}

void fuzz_lease(std::string_view text) {
  fuzz::expect_clean_rejection([&] {
    const auto record = history::LeaseRecord::from_json(text);
    if (!record) return;
    (void)history::parse_lease_owner(record->owner);
    (void)record->describe();
    const auto again = history::LeaseRecord::from_json(record->to_json());
    if (!again || again->generation != record->generation || again->owner != record->owner) {
      std::abort();  // lock.json does not survive its own round trip
    }
  });
  fuzz::expect_clean_rejection([&] { (void)history::parse_lease_owner(text); });
}

void fuzz_head(std::string_view text) {
  fuzz::expect_clean_rejection([&] {
    const auto record = history::HeadRecord::from_json(text);
    if (!record) return;
    (void)record->describe();
    const auto again = history::HeadRecord::from_json(record->to_json());
    if (!again || again->txid != record->txid || again->owner != record->owner ||
        again->points.size() != record->points.size()) {
      std::abort();  // head.json does not survive its own round trip
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  fuzz_state(text);
  fuzz_lease(text);
  fuzz_head(text);
  return 0;
}
