// Exchange: one HTTP request and its response, as a protocol handler sees it.
//
// The session (src/http/session.cpp) has read the request header; the body has not been read.
// A handler decides (authenticate, authorize, check quota) and only then reads the body with
// read_body(); the first read_body() answers `Expect: 100-continue`, so a request refused before
// that costs the client no upload. A handler answers exactly once, either whole (respond) or
// streamed (begin_response, write_body..., end_response). If it answers without reading the
// whole body, the session drains a small remainder or closes the connection.
//
// Not thread-safe: used by the one coroutine that serves the request.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace depot::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;

using RequestHeader = bhttp::request_header<>;
using ResponseHeader = bhttp::response_header<>;
using StringResponse = bhttp::response<bhttp::string_body>;

struct RequestInfo {
  std::string request_id;   // also sent as x-amz-request-id and X-Request-Id
  std::string remote_addr;  // peer IP
  bool tls = false;
  std::chrono::steady_clock::time_point start;
  // Filled in by the handler for the access log and metrics.
  std::string protocol = "none";   // s3, webdav, api, ui, health
  std::string operation = "-";     // e.g. PutObject, PROPFIND
  std::string user = "-";
};

class Exchange {
 public:
  virtual ~Exchange() = default;

  virtual const RequestHeader& request() const = 0;
  virtual RequestInfo& info() = 0;
  // Adds a header to the request as if the client had sent it (a presigned URL's signed query
  // parameters that stand for headers). Never Content-Length or Transfer-Encoding: the body is
  // already being framed by what arrived.
  virtual void add_request_header(std::string_view name, std::string_view value) = 0;

  // The request target split: path (still percent-encoded) and raw query (without '?').
  std::string_view target() const { return request().target(); }
  std::string_view path() const;
  std::string_view query() const;
  std::string_view header(bhttp::field f) const;
  std::string_view header(std::string_view name) const;

  // Body size the client announced with Content-Length; nullopt for chunked or none.
  virtual std::optional<std::uint64_t> content_length() const = 0;
  // True when the request has a body (Content-Length > 0 or chunked).
  virtual bool has_body() const = 0;
  // True once the body has been read to its end.
  virtual bool body_done() const = 0;

  // Reads up to n body bytes into buf. Returns 0 at the end of the body. Sends
  // `100 Continue` first if the client asked for it. Throws boost::system::system_error when the
  // client goes away, is too slow, or sends a malformed body.
  virtual asio::awaitable<std::size_t> read_body(char* buf, std::size_t n) = 0;
  // Sends `100 Continue` now if the client asked for it and it has not gone yet (read_body()
  // sends it otherwise): the body then travels while the server still checks the request. Only
  // for requests whose refusal is unlikely and whose body is small, since a refusal after it
  // comes once the client has sent the body.
  virtual asio::awaitable<void> send_continue() { co_return; }

  // Answers with a complete response. Sets Content-Length, the request id headers, Date,
  // Server and keep-alive from the request. For HEAD, set the header's Content-Length yourself
  // and pass an empty body (it is not sent).
  virtual asio::awaitable<void> respond(StringResponse res) = 0;

  // Streams a response: the header, then body pieces, then the end. With length, the body must
  // be exactly that long; without, the response is chunked.
  virtual asio::awaitable<void> begin_response(ResponseHeader hdr, std::optional<std::uint64_t> length) = 0;
  virtual asio::awaitable<void> write_body(const char* data, std::size_t n) = 0;
  virtual asio::awaitable<void> end_response() = 0;
  // Sends n bytes of an open file from offset as body bytes of a response begun with a length,
  // by sendfile: no copy through user space. Returns false, having sent nothing, where the
  // connection cannot (TLS, a chunked response); the caller then reads and write_body()s.
  virtual asio::awaitable<bool> send_file(int /*fd*/, std::uint64_t /*offset*/, std::uint64_t /*n*/) {
    co_return false;
  }

  virtual bool responded() const = 0;
  // Ask the session to close the connection after this response.
  virtual void close_after_response() = 0;

  // Accounting for the access log.
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  unsigned status = 0;
};

// Convenience: a response with this status, content type and body, version and keep-alive
// taken from the request.
StringResponse make_response(const Exchange& ex, bhttp::status st, std::string body = {},
                             std::string_view content_type = {});

}  // namespace depot::http
