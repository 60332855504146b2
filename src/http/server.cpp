#include "src/http/server.hpp"

#include <sys/sendfile.h>

#include <cctype>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/rand.h>
#include <pqxx/except>
#include <spdlog/spdlog.h>

#include "src/http/semantics.hpp"
#include "src/log.hpp"
#include "src/metrics.hpp"

namespace depot::http {

using tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<beast::tcp_stream>;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

struct Server::Shared {
  const Config& cfg;
  Handler& root;
  Metrics& metrics;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  std::atomic<bool> stopping{false};
  std::vector<asio::io_context*> workers;
  std::atomic<std::size_t> next_worker{0};
};

namespace {

std::string new_request_id() {
  unsigned char raw[8];
  RAND_bytes(raw, sizeof raw);
  static const char* kHex = "0123456789ABCDEF";
  std::string id;
  for (unsigned char c : raw) {
    id += kHex[c >> 4];
    id += kHex[c & 15];
  }
  return id;
}

beast::tcp_stream& lowest(beast::tcp_stream& s) { return s; }
beast::tcp_stream& lowest(TlsStream& s) { return s.next_layer(); }

template <class Stream>
class SessionExchange final : public Exchange {
 public:
  SessionExchange(Stream& stream, beast::flat_buffer& buffer, bhttp::request_parser<bhttp::buffer_body>& parser,
                  const Config& cfg, RequestInfo info)
      : stream_(stream), buffer_(buffer), parser_(parser), cfg_(cfg), info_(std::move(info)) {
    const auto& req = parser_.get();
    keep_alive_ = req.keep_alive();
    auto expect = req.find(bhttp::field::expect);
    expect_continue_ = expect != req.end() && beast::iequals(expect->value(), "100-continue");
    is_head_ = req.method() == bhttp::verb::head;
  }

  const RequestHeader& request() const override { return parser_.get().base(); }
  RequestInfo& info() override { return info_; }
  void add_request_header(std::string_view name, std::string_view value) override {
    parser_.get().base().insert(name, value);
  }

  std::optional<std::uint64_t> content_length() const override {
    auto cl = parser_.content_length();
    if (cl) return *cl;
    return std::nullopt;
  }
  bool has_body() const override {
    if (parser_.chunked()) return true;
    auto cl = parser_.content_length();
    return cl && *cl > 0;
  }
  bool body_done() const override { return parser_.is_done(); }
  bool continue_pending() const { return expect_continue_ && !continue_sent_; }

  asio::awaitable<void> send_continue() override {
    if (!continue_pending() || parser_.is_done() || responded_) co_return;
    continue_sent_ = true;
    lowest(stream_).expires_after(cfg_.body_idle_timeout);
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [ec, _] = co_await asio::async_write(stream_, asio::buffer(kContinue, sizeof kContinue - 1), kUse);
    if (ec) {
      close_ = true;
      throw boost::system::system_error(ec);
    }
  }

  asio::awaitable<std::size_t> read_body(char* buf, std::size_t n) override {
    if (parser_.is_done() || n == 0) co_return 0;
    co_await send_continue();
    if (body_started_.time_since_epoch().count() == 0) body_started_ = std::chrono::steady_clock::now();
    // Returns once it has min(n, kFill) bytes or the body ended: a socket read often brings only
    // a few KiB, and every return costs the layers above a pass (decoders, hashes, writes).
    constexpr std::size_t kFill = 64 * 1024;
    // Beast reads at most the buffer's spare capacity per system call (512 bytes minimum): a
    // buffer sized for the header made a 1 MiB body cost ~1,800 reads. Grow it for the body.
    {
      std::size_t want = kFill;
      if (auto left = parser_.content_length_remaining(); left && !parser_.chunked())
        want = std::size_t(std::min<std::uint64_t>(*left, kFill));
      want = std::min(want, n);
      if (buffer_.capacity() < buffer_.size() + want) buffer_.reserve(buffer_.size() + want);
    }
    std::size_t total = 0;
    for (;;) {
      parser_.get().body().data = buf + total;
      parser_.get().body().size = n - total;
      lowest(stream_).expires_after(cfg_.body_idle_timeout);
      auto [ec, _] = co_await bhttp::async_read_some(stream_, buffer_, parser_, kUse);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        close_ = true;
        throw boost::system::system_error(ec);
      }
      std::size_t got = n - total - parser_.get().body().size;
      total += got;
      bytes_in += got;
      check_rate();
      if (total >= std::min(n, kFill) || parser_.is_done()) co_return total;
    }
  }

  void prepare(ResponseHeader& h) {
    h.set(bhttp::field::server, "depot");
    h.set(bhttp::field::date, format_http_date(std::chrono::time_point_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now())));
    h.set("x-amz-request-id", info_.request_id);
    h.set("X-Request-Id", info_.request_id);
    status = h.result_int();
  }

  bool keep_alive_after() const { return keep_alive_ && !close_; }

  asio::awaitable<void> respond(StringResponse res) override {
    responded_ = true;
    prepare(res.base());
    // A response sent before the body was read (a refusal) closes the connection unless the
    // rest of the body is small enough to drain.
    settle_unread_body();
    res.keep_alive(keep_alive_after());
    auto st = res.result_int();
    bool no_body_status = st == 204 || st == 304 || (st >= 100 && st < 200);
    if (no_body_status) {
      res.body().clear();
      res.erase(bhttp::field::content_length);
    } else if (is_head_) {
      if (res.find(bhttp::field::content_length) == res.end()) res.content_length(res.body().size());
      res.body().clear();
    } else {
      res.prepare_payload();
    }
    if (!is_head_ && !no_body_status) bytes_out += res.body().size();
    lowest(stream_).expires_after(cfg_.body_idle_timeout);
    bhttp::response_serializer<bhttp::string_body> sr{res};
    if (is_head_ || no_body_status) sr.split(true);
    boost::system::error_code ec;
    if (is_head_ || no_body_status) {
      std::tie(ec, std::ignore) = co_await bhttp::async_write_header(stream_, sr, kUse);
    } else {
      std::tie(ec, std::ignore) = co_await bhttp::async_write(stream_, sr, kUse);
    }
    if (ec) {
      close_ = true;
      throw boost::system::system_error(ec);
    }
  }

  asio::awaitable<void> begin_response(ResponseHeader hdr, std::optional<std::uint64_t> length) override {
    responded_ = true;
    prepare(hdr);
    settle_unread_body();
    stream_res_ = std::make_unique<bhttp::response<bhttp::buffer_body>>(std::move(hdr));
    // HTTP/1.0 has no chunked coding (RFC 9112 6.1): a body of unknown length ends with the connection.
    if (!length && parser_.get().version() < 11) close_ = true;
    stream_res_->keep_alive(keep_alive_after());
    if (length) stream_res_->content_length(*length);
    else if (parser_.get().version() >= 11) stream_res_->chunked(true);
    stream_res_->body().data = nullptr;
    stream_res_->body().more = true;
    sr_ = std::make_unique<bhttp::response_serializer<bhttp::buffer_body>>(*stream_res_);
    // The header goes out with the first piece of the body (one send instead of two for a small
    // response), or before a sendfile, or at the end of an empty body.
    co_return;
  }

  asio::awaitable<void> write_body(const char* data, std::size_t n) override {
    if (n == 0) co_return;
    stream_res_->body().data = const_cast<char*>(data);
    stream_res_->body().size = n;
    stream_res_->body().more = true;
    lowest(stream_).expires_after(cfg_.body_idle_timeout);
    auto [ec, _] = co_await bhttp::async_write(stream_, *sr_, kUse);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      close_ = true;
      throw boost::system::system_error(ec);
    }
    bytes_out += n;
  }

  asio::awaitable<bool> send_file(int fd, std::uint64_t offset, std::uint64_t n) override {
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      co_return false;
    } else {
      if (!stream_res_ || stream_res_->chunked()) co_return false;
      if (!sr_->is_header_done()) {
        lowest(stream_).expires_after(cfg_.body_idle_timeout);
        auto [hec, _] = co_await bhttp::async_write_header(stream_, *sr_, kUse);
        if (hec) {
          close_ = true;
          throw boost::system::system_error(hec);
        }
      }
      auto& sock = stream_.socket();
      // The socket is non-blocking (Asio made it so for its own operations): sendfile sends what
      // fits, and on EAGAIN we wait until the socket is writable, bounded by the idle timeout.
      asio::steady_timer timer(co_await asio::this_coro::executor);
      auto alive = std::make_shared<bool>(true);
      struct Guard {
        std::shared_ptr<bool> a;
        ~Guard() { *a = false; }
      } guard{alive};
      off_t off = off_t(offset);
      boost::system::error_code nb_ec;
      sock.native_non_blocking(true, nb_ec);
      while (n > 0) {
        ssize_t r = ::sendfile(sock.native_handle(), fd, &off, std::size_t(std::min<std::uint64_t>(n, 1u << 30)));
        if (r > 0) {
          n -= std::uint64_t(r);
          bytes_out += std::uint64_t(r);
          continue;
        }
        if (r == 0) {  // the file ended early
          close_ = true;
          throw std::runtime_error("file shorter than the response length");
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          close_ = true;
          throw boost::system::system_error(boost::system::error_code(errno, boost::system::system_category()));
        }
        timer.expires_after(cfg_.body_idle_timeout);
        timer.async_wait([&sock, alive](boost::system::error_code ec) {
          if (!ec && *alive) sock.cancel();
        });
        auto [ec] = co_await sock.async_wait(tcp::socket::wait_write, kUse);
        timer.cancel();
        if (ec) {
          close_ = true;
          throw boost::system::system_error(ec == asio::error::operation_aborted ? asio::error::timed_out : ec);
        }
      }
      co_return true;
    }
  }

  asio::awaitable<void> end_response() override {
    stream_res_->body().data = nullptr;
    stream_res_->body().size = 0;
    stream_res_->body().more = false;
    lowest(stream_).expires_after(cfg_.body_idle_timeout);
    auto [ec, _] = co_await bhttp::async_write(stream_, *sr_, kUse);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      close_ = true;
      throw boost::system::system_error(ec);
    }
    finished_stream_ = true;
  }

  bool responded() const override { return responded_; }
  void close_after_response() override { close_ = true; }
  bool streaming_unfinished() const { return stream_res_ && !finished_stream_; }

  // After the response: read and discard what is left of a small body so the connection can
  // be reused; otherwise the caller closes.
  asio::awaitable<bool> drain() {
    if (parser_.is_done()) co_return true;
    if (close_) co_return false;
    char sink[16384];
    std::uint64_t budget = 256 * 1024;
    while (!parser_.is_done() && budget > 0) {
      std::size_t got = co_await read_body(sink, sizeof sink);
      budget -= std::min<std::uint64_t>(budget, got);
    }
    co_return parser_.is_done();
  }

 private:
  void settle_unread_body() {
    if (parser_.is_done()) return;
    if (continue_pending()) {
      // The client waits for 100 Continue and will not send the body: the connection can
      // only be reused if it really sends nothing, which we cannot know. Close it.
      close_ = true;
      return;
    }
    auto cl = parser_.content_length_remaining();
    if (parser_.chunked() || !cl || *cl > 256 * 1024) close_ = true;
  }

  void check_rate() {
    // Cut off bodies that trickle in slower than min_body_rate over a 30 s window.
    auto now = std::chrono::steady_clock::now();
    if (window_start_.time_since_epoch().count() == 0) window_start_ = now;
    window_bytes_ = bytes_in - window_base_;
    if (now - window_start_ >= std::chrono::seconds(30)) {
      double secs = std::chrono::duration<double>(now - window_start_).count();
      if (double(window_bytes_) / secs < double(cfg_.min_body_rate)) {
        close_ = true;
        throw boost::system::system_error(asio::error::timed_out);
      }
      window_start_ = now;
      window_base_ = bytes_in;
    }
  }

  Stream& stream_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
  const Config& cfg_;
  RequestInfo info_;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  bool is_head_ = false;
  bool responded_ = false;
  bool close_ = false;
  bool finished_stream_ = false;
  std::chrono::steady_clock::time_point body_started_{};
  std::chrono::steady_clock::time_point window_start_{};
  std::uint64_t window_bytes_ = 0, window_base_ = 0;
  std::unique_ptr<bhttp::response<bhttp::buffer_body>> stream_res_;
  std::unique_ptr<bhttp::response_serializer<bhttp::buffer_body>> sr_;
};

// RFC 9112's rules for a request's framing and Host that Beast leaves to us. A transfer coding
// other than chunked last leaves the body's end unknown (6.3: 400, then close); another coding
// before chunked is one we do not decode (501). HTTP/1.1 needs exactly one Host (3.2).
std::optional<std::pair<unsigned, std::string>> framing_problem(const bhttp::request<bhttp::buffer_body>& req,
                                                                bool chunked) {
  if (req.count(bhttp::field::transfer_encoding)) {
    if (!chunked) return std::pair{400u, std::string("Bad request: Transfer-Encoding must end with chunked\n")};
    std::string te;
    for (auto [it, end] = req.equal_range(bhttp::field::transfer_encoding); it != end; ++it) {
      te += te.empty() ? "" : ",";
      te += std::string(it->value());
    }
    std::erase_if(te, [](char ch) { return ch == ' ' || ch == '\t'; });
    for (auto& ch : te) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    if (te != "chunked") return std::pair{501u, std::string("Only the chunked transfer coding is supported\n")};
  }
  const auto hosts = req.count(bhttp::field::host);
  if (hosts > 1 || (hosts == 0 && req.version() >= 11))
    return std::pair{400u, std::string("Bad request: a request needs exactly one Host header\n")};
  return std::nullopt;
}

// An absolute-form target (http://host/path, RFC 9112 3.2.2) becomes the origin form the
// handlers route on, and its authority the Host (3.2.3: it takes precedence).
void origin_form(bhttp::request<bhttp::buffer_body>& req) {
  std::string_view t = req.target();
  std::size_t scheme = t.starts_with("http://") ? 7 : t.starts_with("https://") ? 8 : 0;
  if (scheme == 0) return;
  auto slash = t.find_first_of("/?", scheme);
  std::string authority(t.substr(scheme, slash == std::string_view::npos ? std::string_view::npos : slash - scheme));
  std::string rest = slash == std::string_view::npos ? "/" : std::string(t.substr(slash));
  if (rest.front() == '?') rest.insert(0, "/");
  if (!authority.empty()) req.set(bhttp::field::host, authority);
  req.target(rest);
}

template <class Stream>
asio::awaitable<void> send_simple(Stream& stream, unsigned status, std::string_view body) {
  bhttp::response<bhttp::string_body> res{bhttp::status(status), 11};
  res.set(bhttp::field::server, "depot");
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(false);
  res.body() = std::string(body);
  res.prepare_payload();
  lowest(stream).expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(stream, res, kUse);
}

template <class Stream>
asio::awaitable<void> serve(Stream& stream, std::shared_ptr<Server::Shared> sh, std::string remote, bool tls) {
  const Config& cfg = sh->cfg;
  // Unlimited here: the parser's header limit bounds what a header may take, and bodies are
  // read into the handler's own buffers.
  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    if (sh->stopping) co_return;
    bhttp::request_parser<bhttp::buffer_body> parser;
    parser.header_limit(std::uint32_t(cfg.max_header_bytes));
    parser.body_limit(boost::none);  // handlers enforce their own limits while streaming
    lowest(stream).expires_after(first ? cfg.header_timeout : cfg.keepalive_timeout);
    auto [ec, _] = co_await bhttp::async_read_header(stream, buffer, parser, kUse);
    if (ec) {
      if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
        co_await send_simple(stream, 431, "Request header fields too large\n");
      else if (ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
               ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category())  // a parse error
        co_await send_simple(stream, 400, "Bad request: " + ec.message() + "\n");
      co_return;
    }
    first = false;
    // Header reads may continue under the header deadline once the body starts.
    lowest(stream).expires_after(cfg.header_timeout);
    auto start = std::chrono::steady_clock::now();
    if (parser.get().target().size() > cfg.max_url_bytes) {
      co_await send_simple(stream, 414, "URI too long\n");
      co_return;
    }
    if (auto bad = framing_problem(parser.get(), parser.chunked())) {
      co_await send_simple(stream, bad->first, bad->second);
      co_return;  // what follows on the connection cannot be told apart from this body
    }
    origin_form(parser.get());
    RequestInfo info;
    info.request_id = new_request_id();
    info.remote_addr = remote;
    info.tls = tls;
    info.start = start;
    SessionExchange<Stream> ex(stream, buffer, parser, cfg, std::move(info));
    bool failed = false;
    bool answer_500 = false;
    bool answer_503 = false;
    try {
      co_await sh->root.handle(ex);
    } catch (const boost::system::system_error& e) {
      // Client went away or was too slow: nothing more to say to it.
      spdlog::debug("request {} ended: {}", ex.info().request_id, e.what());
      failed = true;
      ex.close_after_response();
    } catch (const pqxx::broken_connection& e) {
      // The database is down: the client may retry; /readyz says 503 meanwhile.
      spdlog::error("request {}: database unavailable: {}", ex.info().request_id, e.what());
      failed = true;
      answer_503 = !ex.responded();
    } catch (const std::exception& e) {
      spdlog::error("request {} failed: {}", ex.info().request_id, e.what());
      failed = true;
      answer_500 = !ex.responded();
    }
    if (answer_503) {
      ex.close_after_response();
      try {
        auto res = make_response(ex, bhttp::status::service_unavailable, "Service unavailable: database unreachable\n",
                                 "text/plain");
        res.set(bhttp::field::retry_after, "5");
        co_await ex.respond(std::move(res));
      } catch (...) {
      }
    }
    if (answer_500) {
      ex.close_after_response();
      try {
        auto res = make_response(ex, bhttp::status::internal_server_error, "Internal server error\n", "text/plain");
        co_await ex.respond(std::move(res));
      } catch (...) {
      }
    }
    if (!ex.responded() && !failed) {
      spdlog::error("handler gave no response for {} {}", std::string(parser.get().method_string()), std::string(ex.path()));
      ex.close_after_response();
      auto res = make_response(ex, bhttp::status::internal_server_error, "Internal server error\n", "text/plain");
      co_await ex.respond(std::move(res));
    }
    if (failed && ex.status == 0) ex.status = 499;  // client closed, as nginx counts it
    auto took = std::chrono::steady_clock::now() - start;
    sh->metrics.record_request(ex.info().protocol, ex.info().operation, ex.status,
                               std::chrono::duration<double>(took).count(), ex.bytes_in, ex.bytes_out);
    log_access(ex, took);
    if (failed || ex.streaming_unfinished() || !ex.keep_alive_after()) co_return;
    bool clean = false;
    try {
      clean = co_await ex.drain();
    } catch (...) {
      clean = false;
    }
    if (!clean) co_return;
    // An idle keep-alive connection keeps no body-sized buffer.
    if (buffer.capacity() > 16 * 1024 && buffer.size() == 0) buffer.shrink_to_fit();
  }
}

asio::awaitable<void> plain_session(tcp::socket sock, std::shared_ptr<Server::Shared> sh) {
  std::string remote;
  boost::system::error_code ec;
  auto ep = sock.remote_endpoint(ec);
  if (!ec) remote = ep.address().to_string();
  beast::tcp_stream stream(std::move(sock));
  sh->metrics.connection_opened();
  try {
    co_await serve(stream, sh, remote, false);
  } catch (const std::exception& e) {
    spdlog::debug("connection from {} ended: {}", remote, e.what());
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  sh->metrics.connection_closed();
}

asio::awaitable<void> tls_session(tcp::socket sock, std::shared_ptr<Server::Shared> sh, asio::ssl::context& ctx) {
  std::string remote;
  boost::system::error_code ec;
  auto ep = sock.remote_endpoint(ec);
  if (!ec) remote = ep.address().to_string();
  TlsStream stream(beast::tcp_stream(std::move(sock)), ctx);
  sh->metrics.connection_opened();
  try {
    stream.next_layer().expires_after(sh->cfg.header_timeout);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kUse);
    if (!hec) {
      co_await serve(stream, sh, remote, true);
      stream.next_layer().expires_after(std::chrono::seconds(5));
      co_await stream.async_shutdown(kUse);
    }
  } catch (const std::exception& e) {
    spdlog::debug("TLS connection from {} ended: {}", remote, e.what());
  }
  sh->metrics.connection_closed();
}

asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acc, std::shared_ptr<Server::Shared> sh,
                                  asio::ssl::context* tls) {
  for (;;) {
    // A connection's timers and I/O never run concurrently: it lives on one worker's
    // io_context, which one thread runs, or else on a strand of its own. Connections are not
    // moved between workers: one io_context per thread has no scheduler lock for the threads to
    // fight over (on this 2-core VM one shared io_context run by two threads spent more CPU per
    // request in futex calls than in parsing it).
    asio::any_io_executor target =
        sh->workers.empty() ? asio::any_io_executor(asio::make_strand(acc->get_executor()))
                            : asio::any_io_executor(sh->workers[sh->next_worker++ % sh->workers.size()]->get_executor());
    auto [ec, sock] = co_await acc->async_accept(target, kUse);
    if (ec) {
      if (ec == asio::error::operation_aborted || sh->stopping) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      if (ec == asio::error::no_descriptors) {
        asio::steady_timer t(acc->get_executor(), std::chrono::milliseconds(100));
        co_await t.async_wait(kUse);
      }
      continue;
    }
    if (sh->metrics.open_connections() >= sh->cfg.max_connections) {
      // Over the limit: refuse at once rather than queue without bound.
      boost::system::error_code ignore;
      sock.close(ignore);
      continue;
    }
    boost::system::error_code opt_ec;
    sock.set_option(tcp::no_delay(true), opt_ec);  // fails only if the peer is already gone
    auto ex = sock.get_executor();
    if (tls)
      asio::co_spawn(ex, tls_session(std::move(sock), sh, *tls), asio::detached);
    else
      asio::co_spawn(ex, plain_session(std::move(sock), sh), asio::detached);
  }
}

}  // namespace

tcp::endpoint parse_endpoint(const std::string& addr_port) {
  auto colon = addr_port.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected ADDRESS:PORT, got '" + addr_port + "'");
  std::string host = addr_port.substr(0, colon);
  std::string port = addr_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("'" + host + "' is not an IP address");
  int p = 0;
  try {
    p = std::stoi(port);
  } catch (...) {
    p = -1;
  }
  if (p < 0 || p > 65535) throw std::invalid_argument("'" + port + "' is not a port number");
  return {addr, static_cast<unsigned short>(p)};
}

Server::Server(asio::io_context& ioc, const Config& cfg, Handler& root, Metrics& metrics,
               std::vector<asio::io_context*> workers)
    : ioc_(ioc), shared_(new Shared{cfg, root, metrics, {}, {}, std::move(workers), {0}}) {}

Server::~Server() = default;

static std::shared_ptr<tcp::acceptor> open_acceptor(asio::io_context& ioc, const std::string& addr_port) {
  auto ep = parse_endpoint(addr_port);
  auto acc = std::make_shared<tcp::acceptor>(ioc);
  acc->open(ep.protocol());
  acc->set_option(asio::socket_base::reuse_address(true));
  acc->bind(ep);
  acc->listen(asio::socket_base::max_listen_connections);
  return acc;
}

void Server::listen(const std::string& addr_port) {
  auto acc = open_acceptor(ioc_, addr_port);
  shared_->acceptors.push_back(acc);
  asio::co_spawn(ioc_, accept_loop(acc, shared_, nullptr), asio::detached);
}

void Server::listen_tls(const std::string& addr_port, asio::ssl::context& ctx) {
  auto acc = open_acceptor(ioc_, addr_port);
  shared_->acceptors.push_back(acc);
  asio::co_spawn(ioc_, accept_loop(acc, shared_, &ctx), asio::detached);
}

void Server::stop_accepting() {
  stopping_ = true;
  shared_->stopping = true;
  for (auto& a : shared_->acceptors) {
    boost::system::error_code ec;
    a->close(ec);
  }
}

int Server::open_connections() const { return shared_->metrics.open_connections(); }

}  // namespace depot::http
