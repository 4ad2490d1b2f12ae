// SigV4 against published answers: the AWS Signature Version 4 test suite (credentials
// AKIDEXAMPLE, region us-east-1, service "service", 20150830T123600Z, host example.amazonaws.com)
// and the worked examples of the S3 API reference ("Signature Calculations for the Authorization
// Header", examplebucket, 20130524T000000Z). Expected strings are the published ones.
#include <catch2/catch.hpp>

#include "storage/s3/crypto.h"
#include "storage/s3/s3_store.h"
#include "storage/s3/sigv4.h"
#include "storage/uri_encoding.h"

using namespace ltxvfs::storage;

namespace {

const Credentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", "test"};
const char* kSuiteDate = "20150830T123600Z";
const std::string kEmpty = sigv4::kEmptyPayloadHash;

sigv4::Request suite_request(const std::string& method, const std::string& path,
                             sigv4::Params query = {}, sigv4::Params extra_headers = {},
                             const std::string& body = "") {
  sigv4::Request r;
  r.method = method;
  r.canonical_uri = uri_encode(path, false);
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  for (auto& h : extra_headers) r.headers.push_back(h);
  r.payload_hash = crypto::sha256_hex(body);
  return r;
}

std::string suite_authz(const std::string& signed_headers, const std::string& signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" +
         signed_headers + ", Signature=" + signature;
}

std::string suite_sts(const std::string& creq_hash) {
  return std::string(
             "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n") +
         creq_hash;
}

}  // namespace

TEST_CASE("sigv4 get-vanilla", "[sigv4]") {
  auto sig = sigv4::sign(suite_request("GET", "/"), kSuite, kSuiteDate, "us-east-1", "service");
  CHECK(sig.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
            kEmpty);
  CHECK(sig.string_to_sign ==
        suite_sts("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"));
  CHECK(sig.authorization ==
        suite_authz("host;x-amz-date",
                    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
}

TEST_CASE("sigv4 get-vanilla-query-order-key-case sorts parameters", "[sigv4]") {
  auto sig = sigv4::sign(suite_request("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}),
                         kSuite, kSuiteDate, "us-east-1", "service");
  CHECK(sig.canonical_request ==
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:"
        "20150830T123600Z\n\nhost;x-amz-date\n" +
            kEmpty);
  CHECK(sig.string_to_sign ==
        suite_sts("816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0"));
  CHECK(sig.authorization ==
        suite_authz("host;x-amz-date",
                    "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST_CASE("sigv4 get-vanilla-query-order-value sorts equal names by value", "[sigv4]") {
  auto sig = sigv4::sign(suite_request("GET", "/", {{"Param1", "value2"}, {"Param1", "value1"}}),
                         kSuite, kSuiteDate, "us-east-1", "service");
  CHECK(sigv4::canonical_query({{"Param1", "value2"}, {"Param1", "value1"}}) ==
        "Param1=value1&Param1=value2");
  CHECK(sig.authorization ==
        suite_authz("host;x-amz-date",
                    "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"));
}

TEST_CASE("sigv4 get-utf8 encodes the path byte by byte", "[sigv4]") {
  auto sig = sigv4::sign(suite_request("GET", "/\xE1\x88\xB4"), kSuite, kSuiteDate, "us-east-1",
                         "service");
  CHECK(sig.canonical_request ==
        "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-"
        "date\n" +
            kEmpty);
  CHECK(sig.string_to_sign ==
        suite_sts("2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102"));
  CHECK(sig.authorization ==
        suite_authz("host;x-amz-date",
                    "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"));
}

TEST_CASE("sigv4 get-vanilla-utf8-query encodes query names", "[sigv4]") {
  auto sig = sigv4::sign(suite_request("GET", "/", {{"\xE1\x88\xB4", "bar"}}), kSuite, kSuiteDate,
                         "us-east-1", "service");
  CHECK(sigv4::canonical_query({{"\xE1\x88\xB4", "bar"}}) == "%E1%88%B4=bar");
  CHECK(sig.authorization ==
        suite_authz("host;x-amz-date",
                    "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"));
}

TEST_CASE("sigv4 get-unreserved leaves unreserved characters alone", "[sigv4]") {
  const std::string path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  auto sig = sigv4::sign(suite_request("GET", path), kSuite, kSuiteDate, "us-east-1", "service");
  CHECK(sig.canonical_request.substr(0, 4 + path.size() + 1) == "GET\n" + path + "\n");
  CHECK(sig.authorization ==
        suite_authz("host;x-amz-date",
                    "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"));
}

TEST_CASE("sigv4 get-header-value-trim trims and collapses spaces", "[sigv4]") {
  auto sig = sigv4::sign(
      suite_request("GET", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}}),
      kSuite, kSuiteDate, "us-east-1", "service");
  CHECK(sig.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
        "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" +
            kEmpty);
  CHECK(sig.authorization ==
        suite_authz("host;my-header1;my-header2;x-amz-date",
                    "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"));
}

TEST_CASE("sigv4 repeated headers join their values in order", "[sigv4]") {
  SECTION("get-header-value-order") {
    auto sig = sigv4::sign(suite_request("GET", "/", {},
                                         {{"My-Header1", "value4"},
                                          {"My-Header1", "value1"},
                                          {"My-Header1", "value3"},
                                          {"My-Header1", "value2"}}),
                           kSuite, kSuiteDate, "us-east-1", "service");
    CHECK(sig.canonical_request.find("my-header1:value4,value1,value3,value2\n") !=
          std::string::npos);
    CHECK(sig.authorization ==
          suite_authz("host;my-header1;x-amz-date",
                      "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"));
  }
  SECTION("get-header-key-duplicate") {
    auto sig = sigv4::sign(
        suite_request(
            "GET", "/", {},
            {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}),
        kSuite, kSuiteDate, "us-east-1", "service");
    CHECK(sig.authorization ==
          suite_authz("host;my-header1;x-amz-date",
                      "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"));
  }
}

TEST_CASE("sigv4 post-x-www-form-urlencoded signs the body hash", "[sigv4]") {
  auto sig = sigv4::sign(
      suite_request("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}},
                    "Param1=value1"),
      kSuite, kSuiteDate, "us-east-1", "service");
  CHECK(sig.canonical_request ==
        "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
        "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  CHECK(sig.string_to_sign ==
        suite_sts("42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"));
  CHECK(sig.authorization ==
        suite_authz("content-type;host;x-amz-date",
                    "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST_CASE("sigv4 signs the session token header", "[sigv4]") {
  auto request =
      suite_request("GET", "/", {},
                    {{"X-Amz-Security-Token",
                      "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"}});
  auto sig = sigv4::sign(request, kSuite, kSuiteDate, "us-east-1", "service");
  CHECK(sig.authorization ==
        suite_authz("host;x-amz-date;x-amz-security-token",
                    "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"));
}

// The S3 API reference's worked examples (secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY).
namespace {
const Credentials kS3Doc{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "",
                         "test"};

sigv4::Signature s3_doc_sign(sigv4::Request r) {
  r.headers.emplace_back("host", "examplebucket.s3.amazonaws.com");
  r.headers.emplace_back("x-amz-date", "20130524T000000Z");
  r.headers.emplace_back("x-amz-content-sha256", r.payload_hash);
  return sigv4::sign(r, kS3Doc, "20130524T000000Z", "us-east-1", "s3");
}
}  // namespace

TEST_CASE("sigv4 S3 example: GET object with a range", "[sigv4]") {
  sigv4::Request r{"GET", "/test.txt", {}, {{"Range", "bytes=0-9"}}, kEmpty};
  auto sig = s3_doc_sign(r);
  CHECK(sig.canonical_request ==
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        "x-amz-content-sha256:" +
            kEmpty +
            "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" +
            kEmpty);
  CHECK(sig.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(sig.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("sigv4 S3 example: PUT object with a '$' in the key", "[sigv4]") {
  const std::string body = "Welcome to Amazon S3.";
  sigv4::Request r{
      "PUT",
      "/" + uri_encode("test$file.text", false),
      {},
      {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
      crypto::sha256_hex(body)};
  CHECK(r.payload_hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  auto sig = s3_doc_sign(r);
  CHECK(sig.canonical_request.substr(0, 22) == "PUT\n/test%24file.text\n");
  CHECK(sig.signed_headers == "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  CHECK(sig.string_to_sign.substr(sig.string_to_sign.rfind('\n') + 1) ==
        "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  CHECK(sig.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_CASE("sigv4 S3 examples: a value-less sub-resource and a listing query", "[sigv4]") {
  SECTION("GET ?lifecycle signs 'lifecycle='") {
    auto sig = s3_doc_sign({"GET", "/", {{"lifecycle", ""}}, {}, kEmpty});
    CHECK(sig.canonical_request.substr(0, 17) == "GET\n/\nlifecycle=\n");
    CHECK(sig.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  }
  SECTION("GET ?max-keys=2&prefix=J") {
    auto sig = s3_doc_sign({"GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {}, kEmpty});
    CHECK(sig.canonical_request.substr(0, 26) == "GET\n/\nmax-keys=2&prefix=J\n");
    CHECK(sig.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  }
}

TEST_CASE("sign_s3 adds the S3 headers and signs them", "[sigv4]") {
  Credentials creds{"AKID", "SECRET", "TOKEN", "test"};
  sigv4::Request r{"PUT", "/bkt/key", {}, {{"host", "h"}}, sigv4::kUnsignedPayload};
  const std::string authorization = sigv4::sign_s3(r, creds, "20240101T000000Z", "eu-west-1");
  CHECK(authorization.find("Credential=AKID/20240101/eu-west-1/s3/aws4_request") !=
        std::string::npos);
  CHECK(authorization.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                           "x-amz-security-token,") != std::string::npos);
  bool has_hash = false, has_token = false;
  for (auto& [name, value] : r.headers) {
    has_hash = has_hash || (name == "x-amz-content-sha256" && value == "UNSIGNED-PAYLOAD");
    has_token = has_token || (name == "x-amz-security-token" && value == "TOKEN");
  }
  CHECK(has_hash);
  CHECK(has_token);
  CHECK(authorization.find("SECRET") == std::string::npos);
}

TEST_CASE("S3 paths are encoded once and never normalised", "[sigv4]") {
  CHECK(uri_encode("a b+c=d&e/\xC3\xA9~", false) == "a%20b%2Bc%3Dd%26e/%C3%A9~");
  CHECK(uri_encode("a/b", true) == "a%2Fb");
  CHECK(percent_decode("a%20b+c").value() == "a b+c");
  CHECK(percent_decode("a%20b+c", true).value() == "a b c");
  CHECK_FALSE(percent_decode("%G0").has_value());
  CHECK_FALSE(percent_decode("%2").has_value());

  StoreSettings settings;
  settings.env = Env::from_map({});
  settings.credentials = Credentials{"AKID", "SECRET", "", "test"};
  S3Store path_style(parse_replica_url("s3://bkt/pre?endpoint=http://127.0.0.1:9000"), settings);
  auto t = path_style.target_for("pre/a//b/../c d");
  CHECK(t.canonical_uri == "/bkt/pre/a//b/../c%20d");
  CHECK(t.url == "http://127.0.0.1:9000/bkt/pre/a//b/../c%20d");
  CHECK(t.host == "127.0.0.1:9000");
  CHECK(path_style.target_for("").canonical_uri == "/bkt");

  S3Store virtual_hosted(parse_replica_url("s3://bkt/pre?region=eu-west-1"), settings);
  CHECK_FALSE(virtual_hosted.path_style());
  auto v = virtual_hosted.target_for("pre/k");
  CHECK(v.url == "https://bkt.s3.eu-west-1.amazonaws.com/pre/k");
  CHECK(v.host == "bkt.s3.eu-west-1.amazonaws.com");
  CHECK(virtual_hosted.target_for("").canonical_uri == "/");
}
