#include <catch2/catch.hpp>

#include "base/time_util.h"
#include "storage/s3/s3_xml.h"

using namespace ltxvfs::storage;

TEST_CASE("s3 xml: Error documents", "[xml]") {
  auto e = s3xml::parse_error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
      "resource you requested does not exist</Message><Resource>/mybucket/myfoto.jpg</Resource>"
      "<RequestId>4442587FB7D0A2F9</RequestId></Error>");
  REQUIRE(e.has_value());
  CHECK(e->code == "NoSuchKey");
  CHECK(e->message == "The resource you requested does not exist");
  CHECK_FALSE(s3xml::parse_error("").has_value());
  CHECK_FALSE(s3xml::parse_error("<html>bad gateway</html>").has_value());
  CHECK_FALSE(s3xml::parse_error("<Error><Code>X</Code").has_value());
}

TEST_CASE("s3 xml: ListObjectsV2 pages", "[xml]") {
  const char* xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
      "<Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
      "<Contents><Key>p/a&amp;b "
      "&lt;c&gt;</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
      "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
      "<StorageClass>STANDARD</StorageClass></Contents>"
      "<Contents><Key>p/&#x1234;&#65;</Key><LastModified>2009-10-12T17:50:31Z</LastModified>"
      "<ETag>\"x\"</ETag><Size>0</Size><Owner><ID>1</ID></Owner></Contents>"
      "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
      "</ListBucketResult>";
  auto page = s3xml::parse_list_objects_v2(xml);
  REQUIRE(page.objects.size() == 2);
  CHECK(page.truncated);
  CHECK(page.next_continuation_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  CHECK(page.objects[0].key == "p/a&b <c>");
  CHECK(page.objects[0].etag == "\"fba9dede5f27731c9771645a39863328\"");
  CHECK(page.objects[0].size == 434234);
  CHECK(page.objects[0].last_modified_ms == 1255369830000);
  CHECK(page.objects[1].key ==
        "p/\xE1\x88\xB4"
        "A");
  CHECK(page.objects[1].last_modified_ms == 1255369831000);
}

TEST_CASE("s3 xml: url-encoded listings are decoded (space as '+')", "[xml]") {
  auto page = s3xml::parse_list_objects_v2(
      "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
      "<Contents><Key>a+b%2Bc%3D%E2%82%AC</Key><Size>1</Size></Contents>"
      "<Contents><Key>x%20y</Key><Size>1</Size></Contents></ListBucketResult>");
  REQUIRE(page.objects.size() == 2);
  CHECK(page.objects[0].key == "a b+c=\xE2\x82\xAC");
  CHECK(page.objects[1].key == "x y");
  CHECK_FALSE(page.truncated);
}

TEST_CASE("s3 xml: malformed listings are errors", "[xml]") {
  CHECK_THROWS(s3xml::parse_list_objects_v2("<Error><Code>X</Code></Error>"));
  CHECK_THROWS(s3xml::parse_list_objects_v2(
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"));
  CHECK_THROWS(s3xml::parse_list_objects_v2(
      "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"));
  CHECK_THROWS(s3xml::parse_list_objects_v2(
      "<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents>"
      "</ListBucketResult>"));
  CHECK_THROWS(s3xml::parse_list_objects_v2(
      "<ListBucketResult><Contents><Key>a</Key><Size>x</Size></Contents></ListBucketResult>"));
}

TEST_CASE("s3 xml: DeleteObjects request and result", "[xml]") {
  const auto body = s3xml::delete_request_body({"a<b", "c&d\"e'"});
  CHECK_THAT(body, Catch::Contains("<Quiet>true</Quiet>"));
  CHECK_THAT(body, Catch::Contains("<Object><Key>a&lt;b</Key></Object>"));
  CHECK_THAT(body, Catch::Contains("<Object><Key>c&amp;d&quot;e&apos;</Key></Object>"));
  CHECK(s3xml::unescape(s3xml::escape("x<&>\"'\r\ny")) == "x<&>\"'\r\ny");

  auto failures = s3xml::parse_delete_result(
      "<DeleteResult><Deleted><Key>ok</Key></Deleted><Error><Key>k1</Key><Code>AccessDenied</Code>"
      "<Message>Access Denied</Message></Error></DeleteResult>");
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].key == "k1");
  CHECK(failures[0].code == "AccessDenied");
  CHECK(failures[0].message == "Access Denied");
  CHECK(s3xml::parse_delete_result("<DeleteResult/>").empty());
  CHECK_FALSE(s3xml::representable_in_xml(std::string("a\x01", 2)));
  CHECK(s3xml::representable_in_xml("tab\tok"));
}

TEST_CASE("time formats of the S3 protocol", "[time]") {
  using namespace std::chrono;
  CHECK(ltxvfs::base::amz_date(system_clock::time_point(seconds(1440938160))) ==
        "20150830T123600Z");
  CHECK(ltxvfs::base::amz_date(system_clock::time_point(seconds(0))) == "19700101T000000Z");
  CHECK(ltxvfs::base::amz_date(system_clock::time_point(seconds(951868799))) == "20000229T235959Z");
  CHECK(ltxvfs::base::parse_iso8601_ms("2009-10-12T17:50:30.123Z") == 1255369830123);
  CHECK(ltxvfs::base::parse_iso8601_ms("2009-10-12T17:50:30Z") == 1255369830000);
  CHECK(ltxvfs::base::parse_iso8601_ms("2024-02-29T00:00:00.5Z") == 1709164800500);
  CHECK_FALSE(ltxvfs::base::parse_iso8601_ms("20150830T123600Z").has_value());
  CHECK_FALSE(ltxvfs::base::parse_iso8601_ms("2009-10-12T17:50:30").has_value());
  CHECK_FALSE(ltxvfs::base::parse_iso8601_ms("2009-13-12T17:50:30Z").has_value());
  CHECK(ltxvfs::base::parse_http_date_ms("Mon, 12 Oct 2009 17:50:30 GMT") == 1255369830000);
  CHECK(ltxvfs::base::parse_http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777000);
  CHECK_FALSE(ltxvfs::base::parse_http_date_ms("2009-10-12T17:50:30Z").has_value());
  CHECK_FALSE(ltxvfs::base::parse_http_date_ms("Mon, 12 Foo 2009 17:50:30 GMT").has_value());
}

TEST_CASE("time formats: RFC 3339", "[time]") {
  CHECK(ltxvfs::base::format_rfc3339_ms(1795168800250) == "2026-11-20T10:00:00.250Z");
  CHECK(ltxvfs::base::format_rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(ltxvfs::base::format_rfc3339_ms(951868799999) == "2000-02-29T23:59:59.999Z");
  CHECK(ltxvfs::base::format_rfc3339_ms(-1) == "1969-12-31T23:59:59.999Z");
  for (int64_t ms : {int64_t{0}, int64_t{1795168800250}, int64_t{951868799999}, int64_t{-1}}) {
    CHECK(ltxvfs::base::parse_rfc3339_ms(ltxvfs::base::format_rfc3339_ms(ms)) == ms);
  }
  CHECK(ltxvfs::base::parse_rfc3339_ms("2026-11-20T10:00:00Z") == 1795168800000);
  CHECK(ltxvfs::base::parse_rfc3339_ms("2026-11-20t10:00:00z") == 1795168800000);
  // Go's time.Time in JSON: nanoseconds (truncated to ms) and the local offset.
  CHECK(ltxvfs::base::parse_rfc3339_ms("2026-11-20T11:00:00.250999999+01:00") == 1795168800250);
  CHECK(ltxvfs::base::parse_rfc3339_ms("2026-11-20T04:30:00-05:30") == 1795168800000);
  // Go's zero time.
  CHECK(ltxvfs::base::parse_rfc3339_ms("0001-01-01T00:00:00Z") == -62135596800000);
  CHECK_FALSE(
      ltxvfs::base::parse_rfc3339_ms("2026-11-20T10:00:00").has_value());  // a zone is required
  CHECK_FALSE(ltxvfs::base::parse_rfc3339_ms("2026-11-20 10:00:00Z").has_value());
  CHECK_FALSE(ltxvfs::base::parse_rfc3339_ms("2026-11-20T10:00:00.Z").has_value());
  CHECK_FALSE(ltxvfs::base::parse_rfc3339_ms("2026-11-20T10:00:00+0100").has_value());
  CHECK_FALSE(ltxvfs::base::parse_rfc3339_ms("2026-11-20T10:00:00Zjunk").has_value());
  CHECK_FALSE(ltxvfs::base::parse_rfc3339_ms("2026-13-20T10:00:00Z").has_value());
}
