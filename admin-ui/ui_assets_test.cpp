#include "admin-ui/ui_assets.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace depot::console;

TEST_CASE("the web console is embedded with content hashes", "[ui]") {
  const auto* index = find_ui_file("index.html");
  REQUIRE(index != nullptr);
  CHECK(std::string(index->data).find("<script type=\"module\" src=\"/ui/app.js\">") != std::string::npos);
  CHECK(index->etag.size() > 2);
  CHECK(index->etag.front() == '"');
  REQUIRE(find_ui_file("app.js") != nullptr);
  CHECK(find_ui_file("no-such-file.js") == nullptr);
  CHECK(find_ui_file("README.md") == nullptr);  // docs stay out of the binary
  for (const auto& f : embedded_ui_files()) {
    INFO(std::string(f.path));
    CHECK_FALSE(f.path.empty());
    CHECK(f.path.find("node_modules") == std::string_view::npos);
    // The CSP forbids inline code: no page may rely on it.
    if (f.path.ends_with(".html")) {
      std::string html(f.data);
      CHECK(html.find("<script>") == std::string::npos);
      CHECK(html.find("<style") == std::string::npos);
      CHECK(html.find(" style=") == std::string::npos);
      CHECK(html.find(" onclick=") == std::string::npos);
    }
  }
}

TEST_CASE("console files get their content type", "[ui]") {
  CHECK(ui_content_type("index.html") == "text/html; charset=utf-8");
  CHECK(ui_content_type("admin/users.js") == "text/javascript; charset=utf-8");
  CHECK(ui_content_type("style.css") == "text/css; charset=utf-8");
  CHECK(ui_content_type("favicon.svg") == "image/svg+xml");
  CHECK(ui_content_type("blob.bin") == "application/octet-stream");
}
