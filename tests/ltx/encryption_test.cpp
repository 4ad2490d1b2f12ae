// Encrypted LTX files (docs/FORMAT.md "Encrypted files", docs/SECURITY.md): round trip, what a
// reader without the key gets, what moving or altering bytes gets, compaction with rotated keys.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <algorithm>

#include <cstring>
#include <map>
#include <memory>

#include "base/byte_order.h"
#include "ltx/applier.h"
#include "ltx/compactor.h"
#include "ltx/decoder.h"
#include "ltx/page_frame.h"
#include "ltx/page_index.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;
using ltxtest::Page;

namespace {

// Key text from a seed: 64 hex characters. Seeds 1..9 are registered by the tests that need
// them; seed 0xEE never is (the "missing key" reader).
std::string key_text(std::uint8_t seed) {
  std::string s;
  for (int i = 0; i < 32; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>((seed * 37 + i * 11) & 0xff));
    s += b;
  }
  return s;
}

KeyPtr key(std::uint8_t seed, bool registered = true) {
  KeyPtr k = parse_key(key_text(seed));
  if (registered) register_keys(KeyRing{{k}});
  return k;
}

// Two databases' ids (Header::database_id); most tests write database A's files.
constexpr std::uint64_t kDatabaseA = 0x0a0a0a0a0a0a0a0aULL;
constexpr std::uint64_t kDatabaseB = 0x0b0b0b0b0b0b0b0bULL;

EncodeOptions encrypted(const KeyPtr& k, std::uint64_t database = kDatabaseA) {
  return EncodeOptions::of(OutputFormat::kNative, k, database);
}

// A page with a marker any plaintext leak would show, then compressible filler.
Bytes marked_page(std::uint32_t size, std::uint64_t seed) {
  Bytes p = ltxtest::compressible_page(size, seed);
  const std::string marker = "PLAINTEXT-MARKER-7f3c";
  std::copy(marker.begin(), marker.end(), p.begin() + 40);
  return p;
}

std::vector<Page> pages(std::uint32_t page_size, std::uint32_t n, std::uint64_t seed) {
  std::vector<Page> out;
  for (std::uint32_t i = 1; i <= n; ++i) out.push_back({i, marked_page(page_size, seed + i)});
  return out;
}

bool contains(const Bytes& hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

Bytes snapshot(const KeyPtr& k, std::uint32_t n = 4, std::uint64_t seed = 1) {
  const auto ps = pages(4096, n, seed);
  DatabaseChecksum sum;
  for (const auto& p : ps) sum.toggle(p.pgno, p.data);
  return ltxtest::encode(ltxtest::make_header(4096, n, 1, 1), ps, encrypted(k), sum.value());
}

}  // namespace

TEST_CASE("encryption: an encrypted file decodes to its pages and holds no plaintext",
          "[encryption]") {
  const KeyPtr k = key(1);
  const Bytes file = snapshot(k);
  REQUIRE(ltxtest::decode_pages(file) == pages(4096, 4, 1));
  MemorySource src(file);
  Decoder dec(src, "x.ltx");
  REQUIRE(dec.header().is_encrypted());
  REQUIRE(dec.header().key_id == k->id());
  REQUIRE(dec.header().flags == (kHeaderFlagNativeExtensions | kHeaderFlagEncrypted));
  REQUIRE_FALSE(contains(file, "PLAINTEXT-MARKER"));
  // The same pages unencrypted do show the marker: the check above can fail.
  REQUIRE(contains(pages(4096, 1, 1)[0].data, "PLAINTEXT-MARKER"));
}

TEST_CASE("encryption: a file under a key that is not loaded names the key id, never the key",
          "[encryption]") {
  const KeyPtr missing = key(0xEE, /*registered=*/false);
  key(2);  // some other key is loaded
  const Bytes file = snapshot(missing);
  std::string message;
  LTX_ERROR_MESSAGE(ltxtest::decode_pages(file, "f.ltx"), message);
  INFO(message);
  REQUIRE(message.find("encrypted with key id " + key_id_hex(missing->id())) != std::string::npos);
  REQUIRE(message.find("LTX_ENCRYPTION_KEY") != std::string::npos);
  REQUIRE(message.find(key_id_hex(key(2)->id())) != std::string::npos);  // what is loaded
  REQUIRE(message.find(key_text(0xEE)) == std::string::npos);
  REQUIRE_LTX_ERROR(ltxtest::decode_pages(file), LtxErrorKind::kEncryptionKey);
}

TEST_CASE("encryption: every bit flipped in a small encrypted file is detected", "[encryption]") {
  const KeyPtr k = key(3);
  const auto ps = pages(512, 2, 9);
  DatabaseChecksum sum;
  for (const auto& p : ps) sum.toggle(p.pgno, p.data);
  const Bytes file =
      ltxtest::encode(ltxtest::make_header(512, 2, 1, 1), ps, encrypted(k), sum.value());
  REQUIRE(ltxtest::decode_error(file) == std::nullopt);
  for (std::size_t i = 0; i < file.size() * 8; ++i) {
    Bytes bad = file;
    bad[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    INFO("bit " << i);
    REQUIRE(ltxtest::decode_error(bad) != std::nullopt);
  }
}

TEST_CASE("encryption: a frame moved to another page number or another file fails its tag",
          "[encryption]") {
  const KeyPtr k = key(4);
  const Bytes a = snapshot(k, 4, 1);
  const auto tail = parse_file_tail(a, a.size(), "a");
  const auto& index = std::get<FileTail>(tail).index.entries;
  auto frame_of = [&](const Bytes& file, std::size_t i) {
    return Bytes(file.begin() + static_cast<std::ptrdiff_t>(index[i].offset),
                 file.begin() + static_cast<std::ptrdiff_t>(index[i].offset + index[i].size));
  };
  const Bytes f2 = frame_of(a, 1);
  // Read where it belongs: fine.
  REQUIRE(decode_frame(f2, 2, 4096, "a", FrameFile{1, 1, kDatabaseA}) == pages(4096, 4, 1)[1].data);
  // Relabelled as page 3: its tag binds page 2.
  Bytes moved = f2;
  moved[3] = 3;
  REQUIRE_LTX_ERROR(decode_frame(moved, 3, 4096, "a", FrameFile{1, 1, kDatabaseA}),
                    LtxErrorKind::kAuthentication);
  // Served as part of another file (TXIDs 5..9): its tag binds TXIDs 1..1.
  REQUIRE_LTX_ERROR(decode_frame(f2, 2, 4096, "a", FrameFile{5, 9, kDatabaseA}),
                    LtxErrorKind::kAuthentication);
  // Read as part of another database's history (same key, same TXIDs, same page).
  REQUIRE_LTX_ERROR(decode_frame(f2, 2, 4096, "a", FrameFile{1, 1, kDatabaseB}),
                    LtxErrorKind::kAuthentication);
  // Read with no database id at all (a replica whose newest file is not encrypted): refused
  // with what to do, not guessed.
  std::string message;
  LTX_ERROR_MESSAGE(decode_frame(f2, 2, 4096, "a", FrameFile{1, 1, 0}), message);
  CHECK_THAT(message, Catch::Contains("names none") && Catch::Contains("ltxvfs restore"));
  // Read as a database of another page size.
  REQUIRE_LTX_ERROR(decode_frame(f2, 2, 8192, "a", FrameFile{1, 1, kDatabaseA}),
                    LtxErrorKind::kAuthentication);
  // Swapped with the frame of page 3 inside the file (same sizes forced by the index check):
  // whole-file decoding refuses it too.
  Bytes swapped = a;
  const Bytes f3 = frame_of(a, 2);
  if (f2.size() == f3.size()) {
    std::copy(f3.begin(), f3.end(), swapped.begin() + static_cast<std::ptrdiff_t>(index[1].offset));
    REQUIRE(ltxtest::decode_error(swapped) != std::nullopt);
  }
}

TEST_CASE("encryption: compaction seals copied frames for its output, under the current key",
          "[encryption]") {
  const KeyPtr old_key = key(5);
  const KeyPtr new_key = key(6);
  ltxtest::ModelDb db(4096, encrypted(old_key));
  std::vector<Bytes> files;
  for (std::uint32_t t = 1; t <= 4; ++t) {
    std::map<std::uint32_t, Bytes> changes;
    for (std::uint32_t p = 1; p <= 3 + t; ++p) {
      if (t == 1 || p % t == 0 || p > 2 + t) changes[p] = marked_page(4096, t * 100 + p);
    }
    files.push_back(db.commit(changes, 3 + t));
  }
  std::vector<std::unique_ptr<MemorySource>> sources;
  std::vector<NamedSource> inputs;
  for (std::size_t i = 0; i < files.size(); ++i) {
    sources.push_back(std::make_unique<MemorySource>(files[i]));
    inputs.push_back({sources.back().get(), "in" + std::to_string(i)});
  }
  VectorSink out;
  const CompactResult r = compact(inputs, out, encrypted(new_key), "out.ltx");
  REQUIRE(r.pages_copied > 0);  // compression kept: nothing compressed again
  REQUIRE(r.pages_reencoded == 0);
  REQUIRE(r.header.key_id == new_key->id());
  const Bytes compacted = out.take();
  REQUIRE_FALSE(contains(compacted, "PLAINTEXT-MARKER"));
  std::vector<Page> expected;
  const Bytes image = db.image();
  for (std::uint32_t p = 1; p <= db.commit_pages(); ++p) {
    expected.push_back({p, Bytes(image.begin() + (p - 1) * 4096, image.begin() + p * 4096)});
  }
  REQUIRE(ltxtest::decode_pages(compacted) == expected);
  // Every frame of the output is under the new key: its id is in each frame.
  const auto tail = std::get<FileTail>(parse_file_tail(compacted, compacted.size(), "out"));
  for (const auto& e : tail.index.entries) {
    REQUIRE(ltxvfs::base::load_be64(compacted.data() + e.offset + 6 + 4) == new_key->id());
  }
}

TEST_CASE("encryption: keys parse from hex and base64, and bad text is never echoed",
          "[encryption]") {
  const KeyPtr hex = parse_key(key_text(7));
  // The same 32 bytes in base64.
  Bytes raw;
  for (int i = 0; i < 32; ++i) raw.push_back(static_cast<std::uint8_t>((7 * 37 + i * 11) & 0xff));
  std::string b64(48, '\0');
  b64.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                                      raw.data(), static_cast<int>(raw.size()))));
  REQUIRE(parse_key(b64)->id() == hex->id());
  REQUIRE(parse_key("  " + key_text(7) + "\n")->id() == hex->id());
  const KeyRing ring = KeyRing::parse(key_text(8) + "," + key_text(7));
  REQUIRE(ring.keys.size() == 2);
  REQUIRE(ring.writer()->id() == parse_key(key_text(8))->id());
  std::string message;
  const std::string secret = "deadbeef" + key_text(7).substr(0, 50);  // 58 characters
  LTX_ERROR_MESSAGE(parse_key(secret), message);
  REQUIRE(message.find("deadbeef") == std::string::npos);
  REQUIRE(message.find("58 characters") != std::string::npos);
  REQUIRE_LTX_ERROR(parse_key(key_text(7).substr(0, 62) + "zz"), LtxErrorKind::kInvalidArgument);
}

TEST_CASE("encryption: the encrypted header flag needs the native flag, a key id and a database id",
          "[encryption]") {
  Header h = ltxtest::make_header(4096, 1, 1, 1);
  h.flags = kHeaderFlagEncrypted;
  h.key_id = 1;
  h.database_id = kDatabaseA;
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadFlags);
  h.flags |= kHeaderFlagNativeExtensions;
  h.validate();
  REQUIRE(Header::decode(h.encode()).database_id == kDatabaseA);
  h.database_id = 0;
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadFlags);
  h.database_id = kDatabaseA;
  h.key_id = 0;
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadFlags);
  h.flags = kHeaderFlagNativeExtensions;
  h.key_id = 5;
  h.database_id = 0;
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadHeader);
  REQUIRE(Header::decode(Header{h}.encode()).key_id == 5);
  h.key_id = 0;
  h.database_id = kDatabaseB;  // a database id in a file that is not encrypted
  REQUIRE_LTX_ERROR(h.validate(), LtxErrorKind::kBadHeader);
  // An encoder asked to encrypt without a database id refuses rather than write one it made up.
  REQUIRE_LTX_ERROR(ltxtest::encode(ltxtest::make_header(4096, 1, 1, 1), pages(4096, 1, 1),
                                    encrypted(key(1), 0), 0),
                    LtxErrorKind::kInvalidArgument);
}

namespace {

// Database A's first two transactions, and the same second transaction written by database B
// under the same key: identical pages and checksums, only the database id differs, so the id
// is all that can tell the splice apart.
struct TwoDatabases {
  Bytes a1, a2, b2;
};
TwoDatabases two_databases(const KeyPtr& k) {
  ltxtest::ModelDb a(4096, encrypted(k, kDatabaseA));
  ltxtest::ModelDb b(4096, encrypted(k, kDatabaseB));
  std::map<std::uint32_t, Bytes> first, second;
  for (std::uint32_t p = 1; p <= 4; ++p) first[p] = marked_page(4096, p);
  second[2] = marked_page(4096, 99);
  TwoDatabases t;
  t.a1 = a.commit(first, 4);
  b.commit(first, 4);
  t.a2 = a.commit(second, 4);
  t.b2 = b.commit(second, 4);
  return t;
}

std::vector<NamedSource> named(const std::vector<std::unique_ptr<MemorySource>>& sources) {
  std::vector<NamedSource> out;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    out.push_back({sources[i].get(), "in" + std::to_string(i)});
  }
  return out;
}

}  // namespace

TEST_CASE("encryption: a file of another database under the same key is refused by restore",
          "[encryption]") {
  const KeyPtr k = key(9);
  const TwoDatabases t = two_databases(k);
  REQUIRE(t.a2 != t.b2);
  MemorySource a1(t.a1), a2(t.a2), b2(t.b2);
  // Database A's own chain restores, and says whose it is.
  ltxtest::MemoryPageWriter own_pages;
  ChainApplier own(own_pages);
  own.apply(a1, "a1");
  own.apply(a2, "a2");
  REQUIRE(own.state().database_id == kDatabaseA);
  // B's file in its place: every page, checksum and TXID agrees, the database id does not.
  ltxtest::MemoryPageWriter mixed_pages;
  ChainApplier mixed(mixed_pages);
  mixed.apply(a1, "a1");
  std::string message;
  LTX_ERROR_MESSAGE(mixed.apply(b2, "b2"), message);
  INFO(message);
  REQUIRE(message.find("belongs to database " + database_id_hex(kDatabaseB)) != std::string::npos);
  ltxtest::MemoryPageWriter again_pages;
  ChainApplier again(again_pages);
  again.apply(a1, "a1");
  REQUIRE_LTX_ERROR(again.apply(b2, "b2"), LtxErrorKind::kAuthentication);
}

TEST_CASE("encryption: compaction refuses inputs of another database, and seals for its own",
          "[encryption]") {
  const KeyPtr k = key(9);
  const TwoDatabases t = two_databases(k);
  std::vector<std::unique_ptr<MemorySource>> mixed;
  mixed.push_back(std::make_unique<MemorySource>(t.a1));
  mixed.push_back(std::make_unique<MemorySource>(t.b2));
  VectorSink out;
  // The inputs disagree among themselves.
  REQUIRE_LTX_ERROR(compact(named(mixed), out, encrypted(k, 0), "out"),
                    LtxErrorKind::kAuthentication);
  // The inputs agree, but with each other, not with the writer's database.
  std::vector<std::unique_ptr<MemorySource>> own;
  own.push_back(std::make_unique<MemorySource>(t.a1));
  own.push_back(std::make_unique<MemorySource>(t.a2));
  VectorSink refused;
  REQUIRE_LTX_ERROR(compact(named(own), refused, encrypted(k, kDatabaseB), "out"),
                    LtxErrorKind::kAuthentication);
  // Without an id of its own (the CLI), compaction takes the inputs'.
  VectorSink sink;
  REQUIRE(compact(named(own), sink, encrypted(k, 0), "out").header.database_id == kDatabaseA);
}

TEST_CASE("encryption: compaction with a key but no known database leaves plain inputs plain",
          "[encryption]") {
  ltxtest::ModelDb db(4096, EncodeOptions::native());
  std::map<std::uint32_t, Bytes> first, second;
  for (std::uint32_t p = 1; p <= 3; ++p) first[p] = marked_page(4096, p);
  second[1] = marked_page(4096, 7);
  const Bytes f1 = db.commit(first, 3);
  const Bytes f2 = db.commit(second, 3);
  std::vector<std::unique_ptr<MemorySource>> sources;
  sources.push_back(std::make_unique<MemorySource>(f1));
  sources.push_back(std::make_unique<MemorySource>(f2));
  VectorSink plain, sealed;
  // The CLI (no database id) writes the output as its inputs were: it cannot know the id the
  // writer gives this history.
  REQUIRE_FALSE(compact(named(sources), plain, encrypted(key(9), 0), "out").header.is_encrypted());
  // The writer (its id known) encrypts it.
  const CompactResult r = compact(named(sources), sealed, encrypted(key(9), kDatabaseA), "out");
  REQUIRE(r.header.is_encrypted());
  REQUIRE(r.header.database_id == kDatabaseA);
}
