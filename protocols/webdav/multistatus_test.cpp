#include <catch2/catch.hpp>
#include <pugixml.hpp>

#include "protocols/webdav/multistatus.hpp"

using namespace depot::webdav;

TEST_CASE("status lines", "[webdav][multistatus]") {
  CHECK(status_line(200) == "HTTP/1.1 200 OK");
  CHECK(status_line(404) == "HTTP/1.1 404 Not Found");
  CHECK(status_line(423) == "HTTP/1.1 423 Locked");
  CHECK(status_line(424) == "HTTP/1.1 424 Failed Dependency");
  CHECK(status_line(507) == "HTTP/1.1 507 Insufficient Storage");
}

TEST_CASE("a streamed multistatus is well-formed and namespaced", "[webdav][multistatus]") {
  MultistatusWriter w;
  std::string all;
  w.begin_response("/dav/b/a%20%26b");
  w.propstat(200, {{{"DAV:", "getetag"}, "&quot;abc&quot;"},
                   {{"DAV:", "resourcetype"}, ""},
                   {{"urn:x", "p"}, "<q xmlns=\"urn:q\">v</q>"},
                   {{"", "nonamespace"}, "randomvalue"}});
  w.propstat(404, {{{"urn:y", "missing"}, ""}});
  w.propstat(404, {});
  w.end_response();
  all += w.take();
  CHECK(w.pending() == 0);
  w.status_response("/dav/b/c", 423, "<D:lock-token-submitted><D:href>/dav/b/c</D:href></D:lock-token-submitted>");
  w.finish();
  all += w.take();

  pugi::xml_document d;
  REQUIRE(d.load_string(all.c_str()));
  auto ms = d.child("D:multistatus");
  REQUIRE(ms);
  CHECK(std::string(ms.attribute("xmlns:D").value()) == "DAV:");
  auto responses = std::distance(ms.children("D:response").begin(), ms.children("D:response").end());
  CHECK(responses == 2);
  auto r1 = ms.child("D:response");
  CHECK(std::string(r1.child_value("D:href")) == "/dav/b/a%20%26b");
  auto ps = r1.children("D:propstat");
  CHECK(std::distance(ps.begin(), ps.end()) == 2);
  auto prop = r1.child("D:propstat").child("D:prop");
  CHECK(std::string(prop.child_value("D:getetag")) == "\"abc\"");
  CHECK(std::string(prop.child("ns0:p").attribute("xmlns:ns0").value()) == "urn:x");
  CHECK(std::string(prop.child("nonamespace").attribute("xmlns").value()) == "");
  CHECK(std::string(r1.child("D:propstat").child_value("D:status")) == "HTTP/1.1 200 OK");
  CHECK(all.find("<D:resourcetype/>") != std::string::npos);
}

TEST_CASE("propname writes empty elements", "[webdav][multistatus]") {
  MultistatusWriter w;
  w.begin_response("/dav/");
  w.propstat(200, {{{"DAV:", "getetag"}, "x"}}, true);
  w.end_response();
  w.finish();
  CHECK(w.take().find("<D:getetag/>") != std::string::npos);
}
