#include <algorithm>
#include <catch2/catch.hpp>

#include "protocols/webdav/if_header.hpp"

using namespace depot::webdav;

namespace {
const std::string tok = "opaquelocktoken:1234-abcd";

ResourceState locked_file() { return ResourceState{true, "abc", {tok}}; }
ResourceState free_file() { return ResourceState{true, "abc", {}}; }

bool eval(std::string_view hdr, ResourceState st) {
  auto h = parse_if_header(hdr);
  REQUIRE(h.ok());
  return evaluate_if_header(*h, [&](const std::string&) { return st; });
}
}  // namespace

TEST_CASE("If header: untagged lists parse", "[webdav][if]") {
  auto h = parse_if_header("(<" + tok + "> [\"abc\"]) (Not <DAV:no-lock>)");
  REQUIRE(h.ok());
  CHECK_FALSE(h->tagged);
  REQUIRE(h->lists.size() == 2);
  REQUIRE(h->lists[0].conditions.size() == 2);
  CHECK(h->lists[0].conditions[0].value == tok);
  CHECK(h->lists[0].conditions[1].kind == IfCondition::Kind::etag);
  CHECK(h->lists[0].conditions[1].value == "\"abc\"");
  CHECK(h->lists[1].conditions[0].negated);
  CHECK(h->submitted_tokens() == std::vector<std::string>{tok});
}

TEST_CASE("If header: tagged lists parse", "[webdav][if]") {
  auto h = parse_if_header("<http://h/dav/b/a> (<" + tok + ">) <http://h/dav/b/c> ([\"x\"]) (Not [\"y\"])");
  REQUIRE(h.ok());
  CHECK(h->tagged);
  REQUIRE(h->lists.size() == 3);
  CHECK(*h->lists[0].resource == "http://h/dav/b/a");
  CHECK(*h->lists[2].resource == "http://h/dav/b/c");
  CHECK(h->resources() == std::vector<std::string>{"http://h/dav/b/a", "http://h/dav/b/c"});
}

TEST_CASE("If header: malformed headers are refused", "[webdav][if]") {
  for (std::string bad : {"", "   ", "(", "()", "(<a>", "<http://x>", "(<a>) <http://x> (<b>)", "([])",
                          "(Not)", "(foo)", "(<a b>)", "x (<a>)"}) {
    INFO(bad);
    CHECK_FALSE(parse_if_header(bad).ok());
  }
}

TEST_CASE("If header: the litmus conditional PUTs", "[webdav][if]") {
  // cond_put
  CHECK(eval("(<" + tok + "> [\"abc\"])", locked_file()));
  // fail_cond_put
  CHECK_FALSE(eval("(<DAV:no-lock> [\"abc\"])", locked_file()));
  // fail_cond_put_unlocked
  CHECK_FALSE(eval("(<DAV:no-lock>)", free_file()));
  // cond_put_with_not
  CHECK(eval("(<" + tok + ">) (Not <DAV:no-lock>)", locked_file()));
  // cond_put_corrupt_token: the header holds (second list), the lock check then refuses
  auto h = parse_if_header("(<" + tok + "x>) (Not <DAV:no-lock>)");
  REQUIRE(h.ok());
  CHECK(evaluate_if_header(*h, [](const std::string&) { return locked_file(); }));
  auto sub = h->submitted_tokens();
  CHECK(std::find(sub.begin(), sub.end(), tok) == sub.end());
  // complex_cond_put / fail_complex_cond_put
  CHECK(eval("(<" + tok + "> [\"abc\"]) (Not <DAV:no-lock> [\"abc\"])", locked_file()));
  CHECK_FALSE(eval("(<" + tok + "> [\"abd\"]) (Not <DAV:no-lock> [\"abd\"])", locked_file()));
}

TEST_CASE("If header: ETags and Not", "[webdav][if]") {
  CHECK(eval("([W/\"abc\"])", free_file()));
  CHECK_FALSE(eval("(Not [\"abc\"])", free_file()));
  CHECK(eval("(Not [\"abd\"])", free_file()));
  // a missing resource has no ETag
  CHECK_FALSE(eval("([\"abc\"])", ResourceState{}));
  CHECK(eval("(Not [\"abc\"])", ResourceState{}));
}

TEST_CASE("If header: tagged lists are evaluated against their own resource", "[webdav][if]") {
  auto h = parse_if_header("<http://h/dav/b/coll/> (<" + tok + ">)");
  REQUIRE(h.ok());
  auto state = [](const std::string& tag) {
    return tag == "http://h/dav/b/coll/" ? locked_file() : free_file();
  };
  CHECK(evaluate_if_header(*h, state));
  auto h2 = parse_if_header("<http://h/dav/b/other> (<" + tok + ">)");
  REQUIRE(h2.ok());
  CHECK_FALSE(evaluate_if_header(*h2, state));
}
