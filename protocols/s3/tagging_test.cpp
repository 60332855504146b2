#include <catch2/catch.hpp>

#include "protocols/s3/tagging.hpp"

using namespace depot::s3;

namespace {
std::string code_of(const std::variant<depot::storage::TagMap, S3Error>& r) {
  return std::holds_alternative<S3Error>(r) ? std::get<S3Error>(r).code : std::string();
}
}  // namespace

TEST_CASE("x-amz-tagging header: URL query form and S3's limits", "[s3]") {
  auto ok = parse_tagging_header("a=1&b=two%20words&c=&d+e=f%2Bg");
  REQUIRE(std::holds_alternative<depot::storage::TagMap>(ok));
  auto& tags = std::get<depot::storage::TagMap>(ok);
  CHECK(tags.size() == 4);
  CHECK(tags["a"] == "1");
  CHECK(tags["b"] == "two words");
  CHECK(tags["c"].empty());
  CHECK(tags["d e"] == "f+g");
  CHECK(std::get<depot::storage::TagMap>(parse_tagging_header("")).empty());

  std::string eleven;
  for (int i = 0; i < 11; ++i) eleven += (i ? "&k" : "k") + std::to_string(i) + "=v";
  CHECK(code_of(parse_tagging_header(eleven)) == "InvalidTag");
  CHECK(code_of(parse_tagging_header(std::string(129, 'k') + "=v")) == "InvalidTag");
  CHECK(code_of(parse_tagging_header(std::string(128, 'k') + "=" + std::string(256, 'v'))).empty());
  CHECK(code_of(parse_tagging_header("k=" + std::string(257, 'v'))) == "InvalidTag");
  CHECK(code_of(parse_tagging_header("aws:x=1")) == "InvalidTag");
  CHECK(code_of(parse_tagging_header("=v")) == "InvalidTag");
  CHECK(code_of(parse_tagging_header("a=1&a=2")) == "InvalidArgument");
  CHECK(code_of(parse_tagging_header("a=%zz")) == "InvalidArgument");
  // Text only: not UTF-8, or a control character, is not a tag (GetObjectTagging could not say it).
  CHECK(code_of(parse_tagging_header("a=%FF")) == "InvalidTag");
  CHECK(code_of(parse_tagging_header("%C3=v")) == "InvalidTag");
  CHECK(code_of(parse_tagging_header("a=%01")) == "InvalidTag");
  CHECK(code_of(parse_tagging_header("a%0D%0Ab=v")) == "InvalidTag");
  // The limits count characters: 128 two-byte characters are a valid key, 129 are not.
  std::string e128;
  for (int i = 0; i < 128; ++i) e128 += "%C3%A9";
  CHECK(code_of(parse_tagging_header(e128 + "=v")).empty());
  CHECK(code_of(parse_tagging_header(e128 + "%C3%A9=v")) == "InvalidTag");
}
