#include <catch2/catch.hpp>

#include "protocols/s3/cors.hpp"

using namespace depot::s3;

TEST_CASE("CORS rules: parse and match", "[s3]") {
  std::string xml =
      "<CORSConfiguration><CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin>"
      "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader>"
      "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule>"
      "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule></CORSConfiguration>";
  auto parsed = parse_cors(xml);
  REQUIRE(std::holds_alternative<std::vector<CorsRule>>(parsed));
  auto& rules = std::get<std::vector<CorsRule>>(parsed);
  REQUIRE(rules.size() == 2);
  CHECK(match_cors(rules, "https://app.example.com", "PUT", {"x-amz-date"}) == &rules[0]);
  CHECK(match_cors(rules, "https://app.example.com", "PUT", {"authorization"}) == nullptr);
  CHECK(match_cors(rules, "https://evil.test", "GET", {}) == nullptr);
  CHECK(match_cors(rules, "https://evil.test", "HEAD", {}) == &rules[1]);
  auto h = cors_response_headers(rules[0], "https://app.example.com", true, {"x-amz-date"});
  bool origin = false, maxage = false;
  for (auto& [k, v] : h) {
    if (k == "Access-Control-Allow-Origin") origin = v == "https://app.example.com";
    if (k == "Access-Control-Max-Age") maxage = v == "300";
  }
  CHECK(origin);
  CHECK(maxage);
  CHECK(std::holds_alternative<S3Error>(parse_cors("<CORSConfiguration><CORSRule><AllowedMethod>PATCH</AllowedMethod>"
                                                   "<AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>")));
  CHECK(std::holds_alternative<S3Error>(parse_cors("<CORSConfiguration>")));
}

TEST_CASE("CORS rules keep their ID and header case; two wildcards are refused", "[s3]") {
  auto parsed = parse_cors(
      "<CORSConfiguration><CORSRule><ID>rule-1</ID><AllowedOrigin>https://app.example.com</AllowedOrigin>"
      "<AllowedMethod>GET</AllowedMethod><AllowedHeader>Authorization</AllowedHeader></CORSRule></CORSConfiguration>");
  REQUIRE(std::holds_alternative<std::vector<CorsRule>>(parsed));
  auto& rules = std::get<std::vector<CorsRule>>(parsed);
  CHECK(rules[0].id == "rule-1");
  CHECK(rules[0].headers == std::vector<std::string>{"Authorization"});
  CHECK(match_cors(rules, "https://app.example.com", "GET", {"authorization"}) == &rules[0]);
  auto two = parse_cors("<CORSConfiguration><CORSRule><AllowedOrigin>http://*.*.com</AllowedOrigin>"
                        "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>");
  REQUIRE(std::holds_alternative<S3Error>(two));
  CHECK(std::get<S3Error>(two).code == "InvalidRequest");
}
