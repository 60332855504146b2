// Engine throughput: N concurrent writers put (then get) objects of a given size straight
// through storage::Engine against a real PostgreSQL and a local blob store, durable as in
// production (fsync of blobs, PostgreSQL commit). Prints ops/s, MB/s and latency percentiles.
//
//   depot_engine_bench --database-url URL --dir /tmp/x [--size 4096] [--count 20000]
//                      [--concurrency 16] [--inline-threshold 65536] [--io-threads 2]
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "auth/users.hpp"
#include "storage/db.hpp"
#include "storage/engine.hpp"
#include "storage/migrations.hpp"
#include "storage/quota.hpp"

using namespace depot;
using namespace depot::storage;
namespace asio = boost::asio;
using Clock_ = std::chrono::steady_clock;

namespace {
class Fill : public BodySource {
 public:
  explicit Fill(std::size_t n) : left_(n) {}
  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override {
    std::size_t k = std::min(n, left_);
    std::memset(buf, 'x', k);
    left_ -= k;
    co_return k;
  }

 private:
  std::size_t left_;
};

std::string arg(int argc, char** argv, const char* name, std::string def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}

void report(const char* what, std::vector<double>& lat, double secs, std::size_t size) {
  std::sort(lat.begin(), lat.end());
  double ops = double(lat.size()) / secs;
  std::printf("%-4s size=%zu ops=%zu  %.0f ops/s  %.1f MB/s  p50=%.2f ms  p99=%.2f ms\n", what, size, lat.size(), ops,
              ops * double(size) / 1e6, lat[lat.size() / 2], lat[std::min(lat.size() - 1, lat.size() * 99 / 100)]);
}
}  // namespace

int main(int argc, char** argv) {
  std::string url = arg(argc, argv, "--database-url", "");
  if (url.empty()) {
    std::cerr << "usage: depot_engine_bench --database-url URL --dir DIR [--size N] [--count N] [--concurrency N] "
                 "[--inline-threshold N]\n";
    return 2;
  }
  std::filesystem::path dir = arg(argc, argv, "--dir", "/tmp/depot-engine-bench");
  std::size_t size = std::stoul(arg(argc, argv, "--size", "4096"));
  int count = std::stoi(arg(argc, argv, "--count", "20000"));
  int conc = std::stoi(arg(argc, argv, "--concurrency", "16"));
  std::size_t inline_threshold = std::stoul(arg(argc, argv, "--inline-threshold", "65536"));
  int io_threads = std::stoi(arg(argc, argv, "--io-threads", "2"));

  apply_migrations(url);
  asio::thread_pool blocking(4);
  Database db(url, std::size_t(std::max(conc, 4)));
  auto blobs = make_local_blob_store(dir, blocking);
  QuotaEngine quota(db, "00000000-0000-4000-8000-0000000000be");
  Engine engine(db, *blobs, quota, {inline_threshold, 1ull << 40});
  auth::UserStore users(db);
  auto name = "bench" + std::to_string(::getpid()) + "x" + std::to_string(Clock_::now().time_since_epoch().count() % 100000);
  auto user = users.create_sync({name, name + "@bench.test", "bench-password-123", false, "premium", "active"});
  if (!user) { std::cerr << user.error().message << "\n"; return 1; }
  db.tx_sync([&](pqxx::work& w) { w.exec_params("UPDATE users SET quota_bytes_override = $2 WHERE id = $1", user->id, std::int64_t(1) << 50); });

  asio::io_context ioc;
  Bucket bucket;
  std::vector<double> put_lat, get_lat;
  std::mutex mu;
  std::atomic<int> next{0};
  auto phase = [&](bool write) {
    next = 0;
    std::atomic<int> done{0};
    auto start = Clock_::now();
    for (int w = 0; w < conc; ++w) {
      asio::co_spawn(ioc, [&, write]() -> asio::awaitable<void> {
        std::vector<char> buf(256 * 1024);
        for (int i = next++; i < count; i = next++) {
          auto t0 = Clock_::now();
          if (write) {
            PutOptions o;
            o.declared_size = size;
            auto t = co_await engine.begin_put(user->id, bucket, "obj/" + std::to_string(i), o);
            if (!t) throw std::runtime_error(t.error().message);
            Fill src(size);
            auto r = co_await engine.finish_put(std::move(*t), src);
            if (!r) throw std::runtime_error(r.error().message);
          } else {
            auto h = co_await engine.head_object(bucket, "obj/" + std::to_string(i));
            if (!h) throw std::runtime_error(h.error().message);
            auto rd = co_await engine.open_object(*h, 0, std::uint64_t(h->size));
            if (!rd) throw std::runtime_error(rd.error().message);
            while (co_await (*rd)->read(buf.data(), buf.size()) > 0) {
            }
          }
          double ms = std::chrono::duration<double, std::milli>(Clock_::now() - t0).count();
          std::lock_guard lk(mu);
          (write ? put_lat : get_lat).push_back(ms);
        }
        done++;
      }, asio::detached);
    }
    std::vector<std::thread> ts;
    for (int i = 1; i < io_threads; ++i) ts.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : ts) t.join();
    ioc.restart();
    return std::chrono::duration<double>(Clock_::now() - start).count();
  };
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    auto b = co_await engine.create_bucket(user->id, name, "us-east-1");
    if (!b) throw std::runtime_error(b.error().message);
    bucket = *b;
  }, asio::detached);
  ioc.run();
  ioc.restart();
  double put_secs = phase(true);
  double get_secs = phase(false);
  std::printf("engine bench: %d objects, %d concurrent, inline threshold %zu\n", count, conc, inline_threshold);
  report("PUT", put_lat, put_secs, size);
  report("GET", get_lat, get_secs, size);
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> { (void)co_await engine.delete_bucket(user->id, name, true); },
                 asio::detached);
  ioc.run();
  (void)users.remove_sync(name);
  blocking.join();
  std::filesystem::remove_all(dir);
  return 0;
}
