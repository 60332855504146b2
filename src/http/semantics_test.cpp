#include "src/http/semantics.hpp"

#include <catch2/catch.hpp>

using namespace depot::http;

TEST_CASE("HTTP dates round-trip and accept the three forms") {
  auto t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
  REQUIRE(t);
  CHECK(format_http_date(*t) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == t);
  CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == t);
  CHECK_FALSE(parse_http_date("yesterday"));
  CHECK(format_iso8601(*t) == "1994-11-06T08:49:37.000Z");
  CHECK(parse_iso8601("1994-11-06T08:49:37Z") == t);
  CHECK(parse_iso8601("1994-11-06T09:49:37+01:00") == t);
}

TEST_CASE("Range resolution") {
  auto r = resolve_range("bytes=0-9", 100);
  CHECK(r.outcome == RangeOutcome::satisfiable);
  CHECK(r.range.first == 0);
  CHECK(r.range.length == 10);
  r = resolve_range("bytes=-3", 100);
  CHECK(r.range.first == 97);
  CHECK(r.range.length == 3);
  r = resolve_range("bytes=95-", 100);
  CHECK(r.range.length == 5);
  r = resolve_range("bytes=90-200", 100);
  CHECK(r.range.length == 10);
  CHECK(resolve_range("bytes=100-", 100).outcome == RangeOutcome::unsatisfiable);
  CHECK(resolve_range("bytes=5-1", 100).outcome == RangeOutcome::ignored);
  CHECK(resolve_range("items=1-2", 100).outcome == RangeOutcome::ignored);
  CHECK(resolve_range("", 100).outcome == RangeOutcome::none);
  // Positions past 2^64 - 1 are positions past the end, as AWS clamps them.
  r = resolve_range("bytes=90-99999999999999999999999", 100);
  CHECK(r.outcome == RangeOutcome::satisfiable);
  CHECK(r.range.length == 10);
  r = resolve_range("bytes=-99999999999999999999999", 100);
  CHECK(r.range.first == 0);
  CHECK(r.range.length == 100);
  CHECK(resolve_range("bytes=99999999999999999999999-", 100).outcome == RangeOutcome::unsatisfiable);
  CHECK(resolve_range("bytes=0-18446744073709551616", 100).range.length == 100);
  CHECK(resolve_range("bytes=0-1x", 100).outcome == RangeOutcome::ignored);
}

TEST_CASE("Preconditions follow RFC 9110 order") {
  RequestHeader req;
  auto mod = *parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
  req.set(bhttp::field::if_match, "\"abc\"");
  CHECK(evaluate_preconditions(req, "abc", mod, true) == Precondition::pass);
  CHECK(evaluate_preconditions(req, "abd", mod, true) == Precondition::precondition_failed);
  RequestHeader r2;
  r2.set(bhttp::field::if_none_match, "W/\"abc\", \"x\"");
  CHECK(evaluate_preconditions(r2, "abc", mod, true) == Precondition::not_modified);
  CHECK(evaluate_preconditions(r2, "abc", mod, false) == Precondition::precondition_failed);
  RequestHeader r3;
  r3.set(bhttp::field::if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(evaluate_preconditions(r3, "abc", mod, true) == Precondition::not_modified);
  RequestHeader r4;
  r4.set(bhttp::field::if_unmodified_since, "Sat, 05 Nov 1994 08:49:37 GMT");
  CHECK(evaluate_preconditions(r4, "abc", mod, true) == Precondition::precondition_failed);
}

TEST_CASE("Percent-encoding") {
  CHECK(percent_decode("a%20b+c%2F") == std::optional<std::string>("a b+c/"));
  CHECK_FALSE(percent_decode("bad%2"));
  CHECK_FALSE(percent_decode("nul%00"));
  CHECK(percent_encode("a b/c~", true) == "a%20b/c~");
  CHECK(percent_encode("a b/c", false) == "a%20b%2Fc");
}

TEST_CASE("UTF-8 validity") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"));  // é € 😀 U+10FFFF
  CHECK_FALSE(valid_utf8("\xFF"));
  CHECK_FALSE(valid_utf8("a\x80" "b"));            // a continuation byte alone
  CHECK_FALSE(valid_utf8("\xC3"));                 // cut short
  CHECK_FALSE(valid_utf8("\xE2\x82"));
  CHECK_FALSE(valid_utf8("\xC0\xAF"));             // overlong '/'
  CHECK_FALSE(valid_utf8("\xE0\x80\xAF"));
  CHECK_FALSE(valid_utf8("\xED\xA0\x80"));         // a surrogate
  CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));     // past U+10FFFF
  CHECK_FALSE(valid_utf8("\xC3\x28"));             // a lead without its continuation
}
