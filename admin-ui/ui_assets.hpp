// The web console's static files (admin-ui/web/, compiled into the binary by
// scripts/embed_assets.cmake) and the handler that serves them under /ui/.
#pragma once
#include <memory>
#include <string_view>
#include <vector>

#include "src/http/handler.hpp"

namespace depot::console {

struct UiFile {
  std::string_view path;  // relative to admin-ui/web/, e.g. "app.js", "admin/users.js"
  std::string_view data;
  std::string_view etag;  // quoted, from the content hash
};

// Every embedded file (generated).
const std::vector<UiFile>& embedded_ui_files();
// The file at this relative path, or nullptr.
const UiFile* find_ui_file(std::string_view path);
// Content-Type for a file name by its extension.
std::string_view ui_content_type(std::string_view path);

// True for a browser's plain visit of "/" (GET, no Authorization, no presigned X-Amz-* query, Accept
// has text/html): the router sends it to the console; S3 clients never look like this.
bool is_browser_visit_of_root(const http::Exchange& ex);

// Serves GET/HEAD /ui/...: a file when one matches, else index.html (client-side routes), with
// ETag/304, Cache-Control and the security headers (CSP without 'unsafe-inline', nosniff,
// Referrer-Policy) on every answer. "/" (see is_browser_visit_of_root) and "/ui" redirect to /ui/.
std::unique_ptr<http::Handler> make_ui_handler();

}  // namespace depot::console
