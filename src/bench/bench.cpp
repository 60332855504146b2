#include "src/bench/bench.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "auth/sigv4.hpp"
#include "src/crypto/checksum.hpp"
#include "src/http/semantics.hpp"

namespace depot::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string access_key, secret_key, region = "us-east-1";
  // Set: a plain HTTP / WebDAV server with Basic credentials instead of S3 with SigV4; `bucket`
  // is then the collection's path ("" for the root) and `list` is a Depth 1 PROPFIND of it.
  std::string basic_auth;
  std::string bucket = "bench";
  std::string op = "put";  // put, get, head, list, delete, mix
  std::string prefix = "obj/";
  std::string delimiter;
  std::size_t size = 4096;
  int connections = 32;
  double duration = 10;
  std::size_t keys = 1000;  // key space for get/head/delete/mix
  int threads = 1;
};

struct Stats {
  std::vector<double> latencies_ms;
  std::uint64_t bytes = 0;
  std::uint64_t errors = 0;
};

std::string key_name(const Options& o, std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08zu", i);
  return o.prefix + buf;
}

asio::awaitable<void> worker(const Options& o, asio::ip::tcp::resolver::results_type ep, int id,
                             Clock::time_point deadline, std::atomic<std::size_t>& next_key, Stats& st) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(ep, asio::use_awaitable);
  stream.socket().set_option(asio::ip::tcp::no_delay(true));
  std::mt19937_64 rng(static_cast<std::uint64_t>(id) * 7919 + 1);
  // Random bytes, as most uploaded files are (already compressed): a repeating pattern would
  // let the server's storage compress 4 KiB to a few dozen bytes and flatter the figures.
  std::string payload(o.size, 'x');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(rng() >> 56);
  beast::flat_buffer buf;
  buf.reserve(64 * 1024);  // beast reads at most the buffer's spare capacity per call
  std::vector<char> sink(256 * 1024);
  std::string continuation;
  while (Clock::now() < deadline) {
    std::string op = o.op;
    if (op == "mix") {
      static const char* kMix[] = {"get", "get", "get", "put", "head", "list"};
      op = kMix[rng() % 6];
    }
    // The payload is sent from one buffer per connection and GET bodies are counted, not kept:
    // the generator shares the machine with the server and must cost it as little as it can.
    bhttp::request<bhttp::span_body<char>> req;
    req.version(11);
    req.set(bhttp::field::host, o.host + ":" + o.port);
    const bool dav = !o.basic_auth.empty();
    std::string target = dav && o.bucket.empty() ? std::string("/") : "/" + o.bucket + "/";
    std::size_t k = (op == "put") ? next_key++ % std::max<std::size_t>(o.keys, 1) : rng() % std::max<std::size_t>(o.keys, 1);
    if (op == "delete") k = next_key++;
    std::string key = key_name(o, k);
    if (op == "put") {
      req.method(bhttp::verb::put);
      target += http::percent_encode(key, true);
      req.body() = bhttp::span_body<char>::value_type(payload.data(), payload.size());
    } else if (op == "get" || op == "head" || op == "delete") {
      req.method(op == "get" ? bhttp::verb::get : op == "head" ? bhttp::verb::head : bhttp::verb::delete_);
      target += http::percent_encode(key, true);
    } else if (dav) {  // list: the collection's members
      req.method(bhttp::verb::propfind);
      req.set("Depth", "1");
    } else {  // list
      req.method(bhttp::verb::get);
      target = "/" + o.bucket + "?list-type=2&max-keys=1000&prefix=" + http::percent_encode(o.prefix, false);
      if (!o.delimiter.empty()) target += "&delimiter=" + http::percent_encode(o.delimiter, false);
      if (!continuation.empty()) target += "&continuation-token=" + http::percent_encode(continuation, false);
    }
    req.target(target);
    req.prepare_payload();
    if (dav)
      req.set(bhttp::field::authorization, "Basic " + crypto::base64_encode(o.basic_auth));
    else
      auth::sigv4::sign_request(req.base(), o.access_key, o.secret_key, o.region, "UNSIGNED-PAYLOAD",
                                std::chrono::system_clock::now());
    auto t0 = Clock::now();
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    unsigned code = 0;
    bool keep_alive = true;
    std::uint64_t got = 0;
    if (op == "list") {
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      co_await bhttp::async_read(stream, buf, parser, asio::use_awaitable);
      auto& res = parser.get();
      code = res.result_int();
      keep_alive = res.keep_alive();
      got = res.body().size();
      auto& b = res.body();
      auto s = b.find("<NextContinuationToken>");
      continuation.clear();
      if (s != std::string::npos) {
        s += 23;
        continuation = b.substr(s, b.find('<', s) - s);
      }
    } else {
      bhttp::response_parser<bhttp::buffer_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      if (op == "head") parser.skip(true);
      co_await bhttp::async_read_header(stream, buf, parser, asio::use_awaitable);
      while (!parser.is_done()) {
        parser.get().body().data = sink.data();
        parser.get().body().size = sink.size();
        auto [ec, n] = co_await bhttp::async_read_some(stream, buf, parser, asio::as_tuple(asio::use_awaitable));
        if (ec && ec != bhttp::error::need_buffer) throw boost::system::system_error(ec);
        got += sink.size() - parser.get().body().size;
      }
      code = parser.get().result_int();
      keep_alive = parser.get().keep_alive();
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (code >= 300 && !(op == "delete" && code == 404)) st.errors++;
    st.latencies_ms.push_back(ms);
    st.bytes += op == "put" ? payload.size() : got;
    if (!keep_alive) co_return;
  }
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace

int run_bench(int argc, char** argv) {
  Options o;
  std::string endpoint = "http://127.0.0.1:8080";
  po::options_description desc("depot bench options");
  desc.add_options()("help", "this help")
      ("endpoint", po::value(&endpoint), "http://host:port of the S3 endpoint")
      ("basic-auth", po::value(&o.basic_auth),
       "USER:PASSWORD: a WebDAV server with Basic credentials instead of S3; --bucket is then the collection's "
       "path (\"\" for the root) and list is a Depth 1 PROPFIND (or DEPOT_BASIC_AUTH)")
      ("access-key", po::value(&o.access_key), "access key id (or DEPOT_ACCESS_KEY)")
      ("secret-key", po::value(&o.secret_key), "secret key (or DEPOT_SECRET_KEY)")
      ("region", po::value(&o.region), "signing region")
      ("bucket", po::value(&o.bucket), "bucket (must exist)")
      ("op", po::value(&o.op), "put | get | head | list | delete | mix")
      ("size", po::value(&o.size), "object size in bytes for put")
      ("connections,c", po::value(&o.connections), "concurrent connections")
      ("duration,d", po::value(&o.duration), "seconds to run")
      ("keys", po::value(&o.keys), "key space (objects obj/00000000...)")
      ("prefix", po::value(&o.prefix), "key prefix")
      ("delimiter", po::value(&o.delimiter), "delimiter for list")
      ("threads", po::value(&o.threads), "client threads");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "depot bench: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (o.access_key.empty() && getenv("DEPOT_ACCESS_KEY")) o.access_key = getenv("DEPOT_ACCESS_KEY");
  if (o.secret_key.empty() && getenv("DEPOT_SECRET_KEY")) o.secret_key = getenv("DEPOT_SECRET_KEY");
  if (o.basic_auth.empty() && getenv("DEPOT_BASIC_AUTH")) o.basic_auth = getenv("DEPOT_BASIC_AUTH");
  std::string hp = endpoint.starts_with("http://") ? endpoint.substr(7) : endpoint;
  if (auto slash = hp.find('/'); slash != std::string::npos) hp.resize(slash);
  auto colon = hp.rfind(':');
  o.host = colon == std::string::npos ? hp : hp.substr(0, colon);
  o.port = colon == std::string::npos ? "80" : hp.substr(colon + 1);

  asio::io_context io(o.threads);
  asio::ip::tcp::resolver resolver(io);
  auto ep = resolver.resolve(o.host, o.port);
  std::vector<Stats> stats(static_cast<std::size_t>(o.connections));
  std::atomic<std::size_t> next_key{0};
  auto start = Clock::now();
  auto deadline = start + std::chrono::milliseconds(static_cast<long>(o.duration * 1000));
  std::atomic<int> failed_workers{0};
  for (int i = 0; i < o.connections; ++i)
    asio::co_spawn(io, worker(o, ep, i, deadline, next_key, stats[static_cast<std::size_t>(i)]),
                   [&](std::exception_ptr e) {
                     if (!e) return;
                     failed_workers++;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       std::cerr << "connection failed: " << x.what() << "\n";
                     }
                   });
  std::vector<std::thread> pool;
  for (int t = 1; t < o.threads; ++t) pool.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  Stats all;
  for (auto& s : stats) {
    all.latencies_ms.insert(all.latencies_ms.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    all.bytes += s.bytes;
    all.errors += s.errors;
  }
  double ops = static_cast<double>(all.latencies_ms.size());
  std::printf("op=%s size=%zu connections=%d duration=%.1fs\n", o.op.c_str(), o.size, o.connections, secs);
  std::printf("ops=%.0f ops/s=%.0f MB/s=%.1f errors=%llu p50=%.2fms p99=%.2fms\n", ops, ops / secs,
              static_cast<double>(all.bytes) / secs / 1e6, static_cast<unsigned long long>(all.errors),
              pct(all.latencies_ms, 0.5), pct(all.latencies_ms, 0.99));
  return all.errors > 0 || failed_workers > 0 ? 1 : 0;
}

}  // namespace depot::bench
