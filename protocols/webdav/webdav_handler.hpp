// The WebDAV front-end (RFC 4918 class 1 and 2, RFC 4331 quota properties).
// The router sends it every request under /dav/ (and /dav itself), and OPTIONS on "/".
#pragma once
#include <memory>

#include "src/app.hpp"
#include "src/http/handler.hpp"

namespace depot::webdav {

std::unique_ptr<http::Handler> make_webdav_handler(App& app);

}  // namespace depot::webdav
