// Key files: read when only the owner may access them, refused (saying how to fix it) otherwise.
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ltx/error.h"
#include "ltx/key_source.h"

using namespace ltxvfs::ltx;

namespace {

const std::string kKeyHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

// A key file alone in a fresh directory; both are removed when this goes out of scope.
struct KeyFile {
  std::string dir;
  std::string path;
  KeyFile(const std::string& text, mode_t mode) {
    char name[] = "/tmp/ltx-keyfile-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    dir = name;
    path = dir + "/key";
    std::ofstream(path) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
  }
  ~KeyFile() { std::filesystem::remove_all(dir); }
  KeyFile(const KeyFile&) = delete;
  KeyFile& operator=(const KeyFile&) = delete;
};

}  // namespace

TEST_CASE("key file: mode 0600 is read, 0644 is refused with the chmod that fixes it",
          "[encryption]") {
  const KeyFile file(kKeyHex + "\n", 0600);
  const std::string& path = file.path;
  const KeyRing ring = read_key_file(path);
  REQUIRE(ring.keys.size() == 1);
  REQUIRE(ring.writer()->id() == parse_key(kKeyHex)->id());

  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  try {
    read_key_file(path);
    FAIL("a key file others may read was accepted");
  } catch (const LtxError& e) {
    const std::string m = e.what();
    INFO(m);
    REQUIRE(m.find("mode 0644") != std::string::npos);
    REQUIRE(m.find("chmod 600 " + path) != std::string::npos);
    REQUIRE(m.find(kKeyHex.substr(0, 16)) == std::string::npos);
  }
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  REQUIRE_THROWS_AS(read_key_file(path), LtxError);
}

TEST_CASE("key file: a list of keys reads with every one and writes with the first",
          "[encryption]") {
  const std::string second = std::string(64, 'a');
  const KeyFile file(second + "\n" + kKeyHex + "\n", 0600);
  const std::string& path = file.path;
  const KeyRing ring = load_keys(path);
  REQUIRE(ring.keys.size() == 2);
  REQUIRE(ring.writer()->id() == parse_key(second)->id());
  REQUIRE(find_key(parse_key(kKeyHex)->id()) != nullptr);  // registered for readers
}

TEST_CASE("key file: a file with no key or a bad key is refused without echoing it",
          "[encryption]") {
  REQUIRE_THROWS_AS(read_key_file(KeyFile("\n", 0600).path), LtxError);
  try {
    read_key_file(KeyFile("not-a-key-but-secret", 0600).path);
    FAIL("accepted");
  } catch (const LtxError& e) {
    REQUIRE(std::string(e.what()).find("secret") == std::string::npos);
  }
}
