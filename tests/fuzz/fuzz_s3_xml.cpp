// libFuzzer target: the S3 response bodies (storage/s3/s3_xml.cpp): <Error> documents,
// ListObjectsV2 pages and DeleteObjects results, all from the server (or whoever answers in its
// place). Every input goes through every parser; bad input may only throw std::runtime_error.
// Property: escape() then unescape() gives back any text representable in XML.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/s3/s3_xml.h"
#include "tests/fuzz/fuzz_support.h"

using namespace ltxvfs::storage;
namespace fuzz = ltxvfs::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  fuzz::expect_clean_rejection([&] { (void)s3xml::parse_error(text); });
  fuzz::expect_clean_rejection([&] { (void)s3xml::parse_list_objects_v2(text); });
  fuzz::expect_clean_rejection([&] { (void)s3xml::parse_delete_result(text); });
  fuzz::expect_clean_rejection([&] { (void)s3xml::unescape(text); });
  if (s3xml::representable_in_xml(text)) {
    std::string back;
    fuzz::expect_clean_rejection([&] { back = s3xml::unescape(s3xml::escape(text)); });
    if (back != text) std::abort();  // escape/unescape lost or changed something
  }
  return 0;
}
