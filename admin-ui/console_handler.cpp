#include "admin-ui/console_handler.hpp"

#include <boost/json.hpp>

namespace depot::console {
namespace {

// Until the accounts and console issues land, /ui/ and /api/ answer with a JSON 404 that says
// so, in the one error shape the API will keep.
class ConsoleHandler final : public http::Handler {
 public:
  explicit ConsoleHandler(App& app) : app_(app) {}
  boost::asio::awaitable<void> handle(http::Exchange& ex) override {
    ex.info().operation = "unknown";
    boost::json::object err{{"error", {{"code", "not_found"}, {"message", "there is no such page or API endpoint"}}}};
    co_await ex.respond(http::make_response(ex, http::bhttp::status::not_found, boost::json::serialize(err),
                                            "application/json"));
  }

 private:
  App& app_;
};

}  // namespace

std::unique_ptr<http::Handler> make_console_handler(App& app) { return std::make_unique<ConsoleHandler>(app); }

}  // namespace depot::console
