// Weak fallbacks used only while a front-end is not linked in; the real definitions in
// protocols/ take precedence at link time. This file goes away once both protocols land.
#include "admin-ui/console_handler.hpp"
#include "protocols/s3/s3_handler.hpp"
#include "protocols/webdav/webdav_handler.hpp"

namespace depot {
namespace {
class Unavailable final : public http::Handler {
 public:
  boost::asio::awaitable<void> handle(http::Exchange& ex) override {
    co_await ex.respond(http::make_response(ex, http::bhttp::status::service_unavailable, "protocol not built\n",
                                            "text/plain"));
  }
};
}  // namespace
namespace s3 {
__attribute__((weak)) std::unique_ptr<http::Handler> make_s3_handler(App&) { return std::make_unique<Unavailable>(); }
}
namespace console {
__attribute__((weak)) std::unique_ptr<http::Handler> make_console_handler(App&) { return std::make_unique<Unavailable>(); }
}
namespace webdav {
__attribute__((weak)) std::unique_ptr<http::Handler> make_webdav_handler(App&) { return std::make_unique<Unavailable>(); }
}
}  // namespace depot
