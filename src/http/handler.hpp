#pragma once
#include <boost/asio/awaitable.hpp>

#include "src/http/exchange.hpp"

namespace depot::http {

// A protocol front-end: S3, WebDAV, the console. handle() must answer the exchange (a handler
// that throws gets a 500 from the session, which is a bug for any client mistake).
class Handler {
 public:
  virtual ~Handler() = default;
  virtual asio::awaitable<void> handle(Exchange& ex) = 0;
};

}  // namespace depot::http
