// The web console front-end: static files under /ui/ and the JSON API under /api/v1/.
#pragma once
#include <memory>

#include "src/app.hpp"
#include "src/http/handler.hpp"

namespace depot::console {
std::unique_ptr<http::Handler> make_console_handler(App& app);
}
