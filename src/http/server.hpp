// Server: the listeners and their sessions (Boost.Beast, one coroutine per connection).
//
// A session reads a request header (with a deadline), hands an Exchange to the root handler,
// and loops for keep-alive and pipelined requests. Every socket operation has a timeout; the
// header, URL and connection count are bounded; a body that trickles slower than the minimum
// rate is cut off.
#pragma once
#include <boost/asio/io_context.hpp>
#include <vector>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <atomic>
#include <memory>
#include <string>

#include "src/config.hpp"
#include "src/http/handler.hpp"

namespace depot {
class Metrics;
}

namespace depot::http {

class Server {
 public:
  // Acceptors run on `ioc`; each accepted connection is placed on one of `workers` in turn, each
  // an io_context run by one thread (none: on a strand of `ioc`).
  Server(asio::io_context& ioc, const Config& cfg, Handler& root, Metrics& metrics,
         std::vector<asio::io_context*> workers = {});
  ~Server();

  // Throws on a bad address or a port in use.
  void listen(const std::string& addr_port);
  void listen_tls(const std::string& addr_port, asio::ssl::context& ctx);

  // Stops accepting; open connections finish their current request and close.
  void stop_accepting();
  bool stopping() const { return stopping_; }
  int open_connections() const;

  struct Shared;

 private:
  asio::io_context& ioc_;
  std::shared_ptr<Shared> shared_;
  std::atomic<bool> stopping_{false};
};

// "127.0.0.1:8080", "[::1]:8080", ":8080" -> endpoint. Throws std::invalid_argument.
asio::ip::tcp::endpoint parse_endpoint(const std::string& addr_port);

}  // namespace depot::http
