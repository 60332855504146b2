#include <catch2/catch.hpp>
#include <pugixml.hpp>

#include "protocols/webdav/dav_xml.hpp"

using namespace depot::webdav;

TEST_CASE("PROPFIND bodies", "[webdav][xml]") {
  SECTION("empty body is allprop") {
    auto r = parse_propfind("");
    REQUIRE(r.ok());
    CHECK(r->kind == PropfindRequest::Kind::allprop);
  }
  SECTION("named properties keep their namespaces") {
    auto r = parse_propfind(
        "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\" xmlns:x=\"http://x/\"><D:prop>"
        "<D:getetag/><x:foo/><bar xmlns=\"\"/><baz xmlns=\"urn:z\"/></D:prop></D:propfind>");
    REQUIRE(r.ok());
    CHECK(r->kind == PropfindRequest::Kind::prop);
    REQUIRE(r->props.size() == 4);
    CHECK(r->props[0] == QName{"DAV:", "getetag"});
    CHECK(r->props[1] == QName{"http://x/", "foo"});
    CHECK(r->props[2] == QName{"", "bar"});
    CHECK(r->props[3] == QName{"urn:z", "baz"});
  }
  SECTION("default namespace, propname, allprop with include") {
    auto pn = parse_propfind("<propfind xmlns='DAV:'><propname/></propfind>");
    REQUIRE(pn.ok());
    CHECK(pn->kind == PropfindRequest::Kind::propname);
    auto ap = parse_propfind("<propfind xmlns='DAV:'><allprop/><include><getcontenttype/></include></propfind>");
    REQUIRE(ap.ok());
    CHECK(ap->kind == PropfindRequest::Kind::allprop);
    REQUIRE(ap->include.size() == 1);
    CHECK(ap->include[0] == QName{"DAV:", "getcontenttype"});
  }
  SECTION("litmus propfind_invalid and propfind_invalid2") {
    CHECK_FALSE(parse_propfind("<foo>").ok());
    CHECK_FALSE(parse_propfind("<D:propfind xmlns:D=\"DAV:\"><D:prop><bar:foo xmlns:bar=\"\"/>"
                               "</D:prop></D:propfind>").ok());
  }
  SECTION("other refusals") {
    CHECK_FALSE(parse_propfind("<propfind xmlns='urn:not-dav'><allprop/></propfind>").ok());
    CHECK_FALSE(parse_propfind("<D:propfind xmlns:D='DAV:'><q:prop/></D:propfind>").ok());
    CHECK_FALSE(parse_propfind("<propfind xmlns='DAV:'/>").ok());
    std::string deep = "<propfind xmlns='DAV:'><prop>";
    for (int i = 0; i < 100; ++i) deep += "<a>";
    for (int i = 0; i < 100; ++i) deep += "</a>";
    deep += "</prop></propfind>";
    CHECK_FALSE(parse_propfind(deep).ok());
  }
}

TEST_CASE("PROPPATCH bodies", "[webdav][xml]") {
  auto r = parse_proppatch(
      "<?xml version=\"1.0\" encoding=\"utf-8\" ?>"
      "<D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:schemas-microsoft-com:\">"
      "<D:set><D:prop><Z:Win32LastModifiedTime>Wed, 25 Nov 2026 10:00:00 GMT</Z:Win32LastModifiedTime>"
      "<t:valnspace xmlns:t=\"http://webdav.org/neon/litmus/\"><foo xmlns=\"bar\"/></t:valnspace>"
      "<x:amp xmlns:x=\"urn:x\">a &amp; b</x:amp>"
      "</D:prop></D:set>"
      "<D:remove><D:prop><Z:Win32FileAttributes/></D:prop></D:remove></D:propertyupdate>");
  REQUIRE(r.ok());
  REQUIRE(r->ops.size() == 4);
  CHECK(r->ops[0].name == QName{"urn:schemas-microsoft-com:", "Win32LastModifiedTime"});
  CHECK(r->ops[0].value_xml == "Wed, 25 Nov 2026 10:00:00 GMT");
  CHECK(r->ops[1].name == QName{"http://webdav.org/neon/litmus/", "valnspace"});
  CHECK(r->ops[2].value_xml == "a &amp; b");
  CHECK(r->ops[3].remove);
  CHECK(r->ops[3].name.local == "Win32FileAttributes");

  // The stored value of valnspace re-parses on its own with foo in namespace "bar".
  pugi::xml_document d;
  REQUIRE(d.load_string(("<w>" + r->ops[1].value_xml + "</w>").c_str()));
  auto foo = d.first_child().first_child();
  CHECK(std::string(foo.name()) == "foo");
  CHECK(std::string(foo.attribute("xmlns").value()) == "bar");

  CHECK_FALSE(parse_proppatch("<D:propertyupdate xmlns:D='DAV:'/>").ok());
  CHECK_FALSE(parse_proppatch("not xml").ok());
}

TEST_CASE("PROPPATCH value keeps in-scope prefixes of child elements", "[webdav][xml]") {
  auto r = parse_proppatch(
      "<D:propertyupdate xmlns:D='DAV:' xmlns:p='urn:p'><D:set><D:prop>"
      "<p:x><p:child a='1'>t</p:child></p:x></D:prop></D:set></D:propertyupdate>");
  REQUIRE(r.ok());
  pugi::xml_document d;
  REQUIRE(d.load_string(r->ops[0].value_xml.c_str()));
  CHECK(std::string(d.first_child().attribute("xmlns:p").value()) == "urn:p");
}

TEST_CASE("LOCK bodies", "[webdav][xml]") {
  auto r = parse_lockinfo(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><lockinfo xmlns='DAV:'><lockscope><shared/></lockscope>"
      "<locktype><write/></locktype><owner><href>http://me/</href></owner></lockinfo>");
  REQUIRE(r.ok());
  CHECK_FALSE(r->exclusive);
  CHECK(r->owner_xml.find("http://me/") != std::string::npos);
  auto e = parse_lockinfo("<D:lockinfo xmlns:D='DAV:'><D:lockscope><D:exclusive/></D:lockscope>"
                          "<D:locktype><D:write/></D:locktype><D:owner>litmus test suite</D:owner></D:lockinfo>");
  REQUIRE(e.ok());
  CHECK(e->exclusive);
  CHECK(e->owner_xml == "litmus test suite");
  CHECK_FALSE(parse_lockinfo("<D:lockinfo xmlns:D='DAV:'><D:locktype><D:write/></D:locktype></D:lockinfo>").ok());
}

TEST_CASE("XML escaping", "[webdav][xml]") {
  CHECK(xml_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;");
  // What XML cannot carry becomes U+FFFD; CR survives as a reference.
  CHECK(xml_escape("a\x01" "b\x1b" "\tc\n") == "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "\tc\n");
  CHECK(xml_escape("x\xEF\xBF\xBEy\xEF\xBF\xBFz\r") == "x\xEF\xBF\xBDy\xEF\xBF\xBDz&#13;");
  CHECK(xml_escape("caf\xC3\xA9 \xEF\xBF\xBD") == "caf\xC3\xA9 \xEF\xBF\xBD");
}

TEST_CASE("XML bodies with characters XML does not allow are refused", "[webdav][xml]") {
  auto set = [](std::string value) {
    return "<D:propertyupdate xmlns:D='DAV:' xmlns:Z='urn:z'><D:set><D:prop><Z:p>" + value +
           "</Z:p></D:prop></D:set></D:propertyupdate>";
  };
  CHECK(parse_proppatch(set("caf\xC3\xA9 &#233; &#x1F600; tab&#9;")).ok());
  CHECK_FALSE(parse_proppatch(set("a&#1;b")).ok());     // a control character: ill-formed in every later answer
  CHECK_FALSE(parse_proppatch(set("a&#0;b")).ok());     // NUL would cut the value short
  CHECK_FALSE(parse_proppatch(set("a&#x0;b")).ok());
  CHECK_FALSE(parse_proppatch(set("a&#xFFFE;b")).ok());
  CHECK_FALSE(parse_proppatch(set("a\xFF" "b")).ok());  // not UTF-8: PostgreSQL would refuse it later
  CHECK_FALSE(parse_proppatch(set(std::string("a\x01" "b"))).ok());
  CHECK_FALSE(parse_proppatch("<D:propertyupdate xmlns:D='DAV:' xmlns:Z='urn:\xFF'><D:set><D:prop><Z:p>v</Z:p>"
                              "</D:prop></D:set></D:propertyupdate>")
                  .ok());
  CHECK_FALSE(parse_lockinfo("<D:lockinfo xmlns:D='DAV:'><D:lockscope><D:exclusive/></D:lockscope><D:locktype>"
                             "<D:write/></D:locktype><D:owner>a&#1;b</D:owner></D:lockinfo>")
                  .ok());
  CHECK_FALSE(parse_propfind("<D:propfind xmlns:D='DAV:'><D:prop><x\xFF xmlns='urn:z'/></D:prop></D:propfind>").ok());
  CHECK(parse_propfind("<D:propfind xmlns:D='DAV:'><D:prop><Z:x xmlns:Z='urn:z'>&amp;&#38;</Z:x></D:prop></D:propfind>").ok());
}

TEST_CASE("XML bodies that bind the reserved namespaces or misuse colons are refused", "[webdav][xml]") {
  auto prop = [](std::string decl, std::string name) {
    return "<D:propertyupdate xmlns:D='DAV:'" + decl + "><D:set><D:prop><" + name + ">v</" + name +
           "></D:prop></D:set></D:propertyupdate>";
  };
  CHECK(parse_proppatch(prop(" xmlns:Z='urn:z'", "Z:p")).ok());
  CHECK(parse_proppatch(prop(" xmlns:xml='http://www.w3.org/XML/1998/namespace' xmlns:Z='urn:z'", "Z:p")).ok());
  CHECK_FALSE(parse_proppatch(prop("", "xml:foo")).ok());
  CHECK_FALSE(parse_proppatch(prop(" xmlns:X='http://www.w3.org/XML/1998/namespace'", "X:foo")).ok());
  CHECK_FALSE(parse_proppatch(prop(" xmlns:X='http://www.w3.org/2000/xmlns/'", "X:foo")).ok());
  CHECK_FALSE(parse_proppatch(prop(" xmlns:xml='urn:other'", "D:x")).ok());
  CHECK_FALSE(parse_proppatch(prop(" xmlns:a='urn:a'", "a:b:c")).ok());
  // xml:lang is an attribute like any other.
  CHECK(parse_proppatch("<D:propertyupdate xmlns:D='DAV:' xmlns:Z='urn:z'><D:set><D:prop><Z:p xml:lang='en'>v</Z:p>"
                        "</D:prop></D:set></D:propertyupdate>")
            .ok());
}

TEST_CASE("XML bodies with a DOCTYPE are refused", "[webdav][xml]") {
  const std::string body =
      "<D:propertyupdate xmlns:D='DAV:' xmlns:Z='urn:z'><D:set><D:prop><Z:p>&e;</Z:p></D:prop></D:set>"
      "</D:propertyupdate>";
  CHECK_FALSE(parse_proppatch("<!DOCTYPE D:propertyupdate [<!ENTITY e 'x'>]>" + body).ok());
  CHECK_FALSE(parse_propfind("<?xml version='1.0'?><!DOCTYPE x><D:propfind xmlns:D='DAV:'><D:allprop/></D:propfind>").ok());
  CHECK(parse_propfind("<?xml version='1.0'?><D:propfind xmlns:D='DAV:'><D:allprop/></D:propfind>").ok());
}
