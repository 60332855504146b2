#include "protocols/s3/context.hpp"
#include "protocols/s3/cors.hpp"
namespace depot::s3 {
asio::awaitable<void> load_cors_headers(Ctx& c) { co_return; }
asio::awaitable<void> handle_cors_op(Ctx& c) { co_await respond_error(c, s3_error(501, "NotImplemented", "CORS is not implemented yet.")); }
asio::awaitable<void> handle_tagging_op(Ctx& c) { co_await respond_error(c, s3_error(501, "NotImplemented", "Tagging is not implemented yet.")); }
}
