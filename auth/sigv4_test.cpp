// Vectors from AWS's "Signature Calculations for the Authorization Header" and "Query
// Parameters" S3 examples (credentials AKIAIOSFODNN7EXAMPLE, 20130524T000000Z, us-east-1).
#include <catch2/catch.hpp>

#include "auth/sigv4.hpp"
#include "src/crypto/checksum.hpp"

using namespace depot;
using namespace depot::auth::sigv4;

namespace {
const std::string kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const auto kNow = *parse_amz_date("20130524T000500Z");

http::RequestHeader make(http::bhttp::verb v, std::string target, std::vector<std::pair<std::string, std::string>> h) {
  http::RequestHeader r;
  r.method(v);
  r.target(target);
  r.version(11);
  for (auto& [k, val] : h) r.insert(k, val);
  return r;
}

std::string authz(std::string signed_headers, std::string sig) {
  return "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=" +
         signed_headers + ",Signature=" + sig;
}

void expect_valid(const http::RequestHeader& r) {
  auto p = parse_request_auth(r);
  REQUIRE_FALSE(p.error);
  REQUIRE(p.auth);
  CHECK(p.auth->access_key == "AKIAIOSFODNN7EXAMPLE");
  auto v = verify_request(r, *p.auth, kSecret, kNow);
  if (v.error) {
    for (auto& [k, val] : v.error->details) INFO(k << ": " << val);
    FAIL(v.error->code);
  }
  REQUIRE(v.context);
}
}  // namespace

TEST_CASE("SigV4 GET object with Range", "[sigv4]") {
  auto r = make(http::bhttp::verb::get, "/test.txt",
                {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Range", "bytes=0-9"},
                 {"x-amz-content-sha256", std::string(kEmptySha256)},
                 {"x-amz-date", "20130524T000000Z"},
                 {"Authorization", authz("host;range;x-amz-content-sha256;x-amz-date",
                                         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")}});
  expect_valid(r);
}

TEST_CASE("SigV4 PUT object with Date and a signed payload", "[sigv4]") {
  auto r = make(http::bhttp::verb::put, "/test%24file.text",
                {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                 {"x-amz-content-sha256", crypto::sha256_hex("Welcome to Amazon S3.")},
                 {"Authorization", authz("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                                         "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")}});
  expect_valid(r);
}

TEST_CASE("SigV4 GET bucket lifecycle (empty query value)", "[sigv4]") {
  auto r = make(http::bhttp::verb::get, "/?lifecycle",
                {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-content-sha256", std::string(kEmptySha256)},
                 {"Authorization", authz("host;x-amz-content-sha256;x-amz-date",
                                         "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")}});
  expect_valid(r);
}

TEST_CASE("SigV4 list objects (query sorted)", "[sigv4]") {
  auto r = make(http::bhttp::verb::get, "/?max-keys=2&prefix=J",
                {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-content-sha256", std::string(kEmptySha256)},
                 {"Authorization", authz("host;x-amz-content-sha256;x-amz-date",
                                         "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")}});
  expect_valid(r);
}

TEST_CASE("SigV4 presigned GET", "[sigv4]") {
  auto r = make(http::bhttp::verb::get,
                "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%"
                "2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-"
                "Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
                {{"Host", "examplebucket.s3.amazonaws.com"}});
  expect_valid(r);

  auto p = parse_request_auth(r);
  auto late = verify_request(r, *p.auth, kSecret, kNow + std::chrono::hours(25));
  REQUIRE(late.error);
  CHECK(late.error->code == "AccessDenied");
  CHECK(late.error->message == "Request has expired");
}

TEST_CASE("SigV4 refusals", "[sigv4]") {
  auto base = [] {
    return make(http::bhttp::verb::get, "/test.txt",
                {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Range", "bytes=0-9"},
                 {"x-amz-content-sha256", std::string(kEmptySha256)},
                 {"x-amz-date", "20130524T000000Z"},
                 {"Authorization", authz("host;range;x-amz-content-sha256;x-amz-date",
                                         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")}});
  };
  SECTION("wrong secret") {
    auto r = base();
    auto p = parse_request_auth(r);
    auto v = verify_request(r, *p.auth, "wrong", kNow);
    REQUIRE(v.error);
    CHECK(v.error->code == "SignatureDoesNotMatch");
    CHECK(v.error->details[1].first == "StringToSign");
  }
  SECTION("tampered header") {
    auto r = base();
    r.set("Range", "bytes=0-10");
    auto p = parse_request_auth(r);
    CHECK(verify_request(r, *p.auth, kSecret, kNow).error->code == "SignatureDoesNotMatch");
  }
  SECTION("skew") {
    auto r = base();
    auto p = parse_request_auth(r);
    auto v = verify_request(r, *p.auth, kSecret, kNow + std::chrono::minutes(20));
    REQUIRE(v.error);
    CHECK(v.error->code == "RequestTimeTooSkewed");
  }
  SECTION("anonymous") {
    auto r = make(http::bhttp::verb::get, "/x", {{"Host", "h"}});
    auto p = parse_request_auth(r);
    CHECK_FALSE(p.auth);
    CHECK_FALSE(p.error);
  }
  SECTION("sigv2 refused") {
    auto r = make(http::bhttp::verb::get, "/x", {{"Host", "h"}, {"Authorization", "AWS AKID:sig"}});
    CHECK(parse_request_auth(r).error->code == "InvalidRequest");
  }
  SECTION("presigned over a week") {
    auto r = make(http::bhttp::verb::get,
                  "/t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                  "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
                  {{"Host", "h"}});
    CHECK(parse_request_auth(r).error->code == "AuthorizationQueryParametersError");
  }
  SECTION("host not among the signed headers") {
    auto h = make(http::bhttp::verb::get, "/x",
                  {{"Host", "h"}, {"x-amz-content-sha256", std::string(kEmptySha256)},
                   {"x-amz-date", "20130524T000000Z"}, {"Authorization", authz("x-amz-content-sha256;x-amz-date", "00")}});
    auto e = parse_request_auth(h).error;
    REQUIRE(e);
    CHECK(e->code == "AccessDenied");
    CHECK(e->status == 403);
    auto q = make(http::bhttp::verb::get,
                  "/t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                  "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=range&X-Amz-Signature=00",
                  {{"Host", "h"}, {"Range", "bytes=0-1"}});
    REQUIRE(parse_request_auth(q).error);
    CHECK(parse_request_auth(q).error->code == "AccessDenied");
  }
  SECTION("X-Amz-Expires is digits only") {
    for (std::string e : {"%2B5", "%205", "-1", "5s", ""}) {
      auto q = make(http::bhttp::verb::get,
                    "/t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=" + e + "&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
                    {{"Host", "h"}});
      REQUIRE(parse_request_auth(q).error);
      CHECK(parse_request_auth(q).error->code == "AuthorizationQueryParametersError");
    }
  }
  SECTION("presigned with an x-amz header it did not sign") {
    auto q = make(http::bhttp::verb::put,
                  "/t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                  "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
                  {{"Host", "h"}, {"X-Amz-Copy-Source", "/b/secret"}});
    auto e = parse_request_auth(q).error;
    REQUIRE(e);
    CHECK(e->code == "AccessDenied");
    REQUIRE(e->details.size() == 1);
    CHECK(e->details[0].second == "x-amz-copy-source");
  }
  SECTION("a credential scope for another service") {
    auto h = make(http::bhttp::verb::get, "/x",
                  {{"Host", "h"}, {"x-amz-content-sha256", std::string(kEmptySha256)},
                   {"x-amz-date", "20130524T000000Z"},
                   {"Authorization", "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/ec2/aws4_request,"
                                     "SignedHeaders=host;x-amz-date,Signature=00"}});
    CHECK(parse_request_auth(h).error->code == "AuthorizationHeaderMalformed");
    auto q = make(http::bhttp::verb::get,
                  "/t?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fec2%2Faws4_request"
                  "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
                  {{"Host", "h"}});
    CHECK(parse_request_auth(q).error->code == "AuthorizationQueryParametersError");
  }
}

TEST_CASE("canonical query and URI encoding edge cases", "[sigv4]") {
  CHECK(canonical_query("b=2&a=1&a=0") == "a=0&a=1&b=2");
  CHECK(canonical_query("acl") == "acl=");
  CHECK(canonical_query("k=a%20b&p=%7E~&q=a+b") == "k=a%20b&p=~~&q=a%2Bb");
  CHECK(canonical_query("x=%E2%82%AC") == "x=%E2%82%AC");
  CHECK(canonical_query("a=&a=") == "a=&a=");
  CHECK(canonical_query("X-Amz-Signature=ab&z=1", "X-Amz-Signature") == "z=1");
  CHECK(canonical_uri("/my%20key/a+b~c") == "/my%20key/a%2Bb~c");
  CHECK(canonical_uri("/caf%C3%A9") == "/caf%C3%A9");
  CHECK(canonical_uri("") == "/");
}

TEST_CASE("a '+' in the query is a space as form encoders sign it, or a plus", "[sigv4]") {
  CHECK(canonical_query("q=a+b&r+s=1", {}, true) == "q=a%20b&r%20s=1");
  // Signed with the space (URLSearchParams' way) or with the plus: both verify.
  for (std::string signed_as : {"/bucket/k?response-content-disposition=a%20b", "/bucket/k?response-content-disposition=a%2Bb"}) {
    http::RequestHeader r;
    r.method(http::bhttp::verb::get);
    r.target(signed_as);
    r.set(http::bhttp::field::host, "127.0.0.1:8080");
    sign_request(r, "AKID", "secret", "us-east-1", "UNSIGNED-PAYLOAD", kNow);
    r.target("/bucket/k?response-content-disposition=a+b");
    auto p = parse_request_auth(r);
    REQUIRE(p.auth);
    CHECK_FALSE(verify_request(r, *p.auth, "secret", kNow).error);
  }
}

TEST_CASE("an x-amz header the Authorization header does not sign is refused", "[sigv4]") {
  http::RequestHeader r;
  r.method(http::bhttp::verb::put);
  r.target("/bucket/k");
  r.set(http::bhttp::field::host, "127.0.0.1:8080");
  sign_request(r, "AKID", "secret", "us-east-1", "UNSIGNED-PAYLOAD", kNow);
  REQUIRE(parse_request_auth(r).auth);
  r.set("x-amz-copy-source", "/bucket/other");
  auto p = parse_request_auth(r);
  REQUIRE(p.error);
  CHECK(p.error->code == "AccessDenied");
  CHECK(p.error->details[0] == std::make_pair(std::string("HeadersNotSigned"), std::string("x-amz-copy-source")));
}

TEST_CASE("a request signed both ways is refused", "[sigv4]") {
  http::RequestHeader r;
  r.method(http::bhttp::verb::get);
  r.target("/bucket/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00");
  r.set(http::bhttp::field::host, "127.0.0.1:8080");
  sign_request(r, "AKID", "secret", "us-east-1", "UNSIGNED-PAYLOAD", kNow);
  auto p = parse_request_auth(r);
  REQUIRE(p.error);
  CHECK(p.error->code == "InvalidArgument");
  CHECK(p.error->status == 400);
}

TEST_CASE("dates past the clock's range are refused, not wrapped to now", "[sigv4]") {
  CHECK_FALSE(parse_amz_date("26110628T062908Z"));
  CHECK_FALSE(parse_amz_date("99991231T235959Z"));
  CHECK(parse_amz_date("21000101T000000Z"));
}

TEST_CASE("sign_request produces what verify_request accepts", "[sigv4]") {
  http::RequestHeader r;
  r.method(http::bhttp::verb::put);
  r.target("/bucket/some%20key?partNumber=1&uploadId=abc");
  r.set(http::bhttp::field::host, "127.0.0.1:8080");
  sign_request(r, "AKID", "secret", "us-east-1", "UNSIGNED-PAYLOAD", kNow);
  auto p = parse_request_auth(r);
  REQUIRE(p.auth);
  CHECK_FALSE(verify_request(r, *p.auth, "secret", kNow).error);
}

TEST_CASE("SigV4 scope naming another region is refused with the expected one", "[sigv4]") {
  ParsedAuth a;
  a.region = "us-east-1";
  CHECK_FALSE(check_region(a, "us-east-1").has_value());
  a.region = "eu-west-1";
  auto e = check_region(a, "us-east-1");
  REQUIRE(e.has_value());
  CHECK(e->status == 400);
  CHECK(e->code == "AuthorizationHeaderMalformed");
  CHECK(e->message == "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'");
  REQUIRE(e->details.size() == 1);
  CHECK(e->details[0] == std::make_pair(std::string("Region"), std::string("us-east-1")));
  a.presigned = true;
  e = check_region(a, "us-east-1");
  REQUIRE(e.has_value());
  CHECK(e->code == "AuthorizationQueryParametersError");
  CHECK(e->message == "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; expecting 'us-east-1'");
  a.region = std::string("\xff\x01", 2);  // not echoed into the XML body
  e = check_region(a, "us-east-1");
  REQUIRE(e.has_value());
  CHECK(e->message == "Error parsing the X-Amz-Credential parameter; the region is wrong; expecting 'us-east-1'");
}
