// depot serve: wires the parts together and runs until SIGINT/SIGTERM.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <iostream>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <thread>

#include "auth/access_keys.hpp"
#include "auth/totp_secrets.hpp"
#include "auth/users.hpp"
#include "src/app.hpp"
#include "src/cli/cli.hpp"
#include "src/config_parse.hpp"
#include "src/crypto/md5_stream.hpp"
#include "src/embedded_pg.hpp"
#include "src/http/router.hpp"
#include "src/http/server.hpp"
#include "src/log.hpp"
#include "src/metrics.hpp"
#include "src/tls.hpp"
#include "storage/blob_store.hpp"
#include "storage/db.hpp"
#include "storage/engine.hpp"
#include "storage/migrations.hpp"
#include "storage/quota.hpp"
#include "storage/sweeper.hpp"

namespace depot::cli {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// An io_context whose pending handlers (suspended coroutines) can be destroyed while the
// objects they refer to are still alive; by default that happens in ~io_context, too late.
struct IoContext : asio::io_context {
  using asio::io_context::io_context;
  void destroy_pending() { shutdown(); }
};

std::string random_password() {
  constexpr std::string_view kAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  unsigned char raw[20];
  RAND_bytes(raw, sizeof raw);
  std::string s;
  for (unsigned char c : raw) s += kAlphabet[c % kAlphabet.size()];
  return s;
}

std::string uuid_v4() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

// First run: an administrator, so the console can be reached at all.
void ensure_admin(auth::UserStore& users, storage::Database& db, const Config& c) {
  bool any = db.tx_sync([](pqxx::work& w) { return !w.exec("SELECT 1 FROM users WHERE is_admin LIMIT 1").empty(); });
  if (any) return;
  std::string pw = c.admin_password;
  if (const char* env = std::getenv("DEPOT_ADMIN_PASSWORD"); pw.empty() && env) pw = env;
  bool generated = pw.empty();
  if (generated) pw = random_password();
  auto u = users.create_sync({c.admin_user, c.admin_user + "@localhost", pw, true, "premium", "active"});
  if (!u) throw std::runtime_error("cannot create the admin account: " + u.error().message);
  spdlog::info("created the administrator account '{}'", c.admin_user);
  if (generated)
    std::cout << "\n  depot: administrator '" << c.admin_user << "' created with password: " << pw
              << "\n  (shown once; change it with `depot user set-password " << c.admin_user << " --password-stdin`)\n\n"
              << std::flush;
}

// Applies migrations, seals TOTP secrets left in clear (auth/totp_secrets.hpp) and creates the
// first admin; returns what went wrong, or "".
std::string prepare_database(auth::UserStore& users, const auth::AccessKeys& keys, storage::Database& db, const Config& c) {
  try {
    storage::apply_migrations(c.database_url);
    if (int n = db.tx_sync([&](pqxx::work& w) { return auth::seal_clear_totp_secrets(w, keys.master()); }); n > 0)
      spdlog::info("sealed {} TOTP secret(s) stored in clear under the master key", n);
    ensure_admin(users, db, c);
    return {};
  } catch (const std::exception& e) {
    std::string msg = e.what();
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return msg.empty() ? "unknown error" : msg;
  }
}

// Every connection and every open blob file holds a descriptor (a GET of a multipart object
// holds several), and the soft limit is often 1024, far below max_connections: raise it to the
// hard limit (at most 2^20: children that close every descriptor up to it stay quick), as nginx
// and Go's runtime do.
void raise_descriptor_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t target = std::min<rlim_t>(rl.rlim_max, rlim_t{1} << 20);
  if (rl.rlim_cur < target) {
    rlimit want = rl;
    want.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  spdlog::info("open file limit {}", rl.rlim_cur == RLIM_INFINITY ? std::string("unlimited") : std::to_string(rl.rlim_cur));
}

}  // namespace

int serve(const std::vector<std::string>& args) {
  Config c;
  auto desc = serve_options(c);
  bool help = false;
  desc.add_options()("help", po::bool_switch(&help), "show this help");
  std::vector<std::string> pos;
  parse_config(args, desc, pos, c);
  if (help) {
    std::cout << "usage: depot serve [options]\n" << desc << "\n";
    return 0;
  }
  if (!pos.empty()) throw UsageError("unexpected argument '" + pos[0] + "'");
  setup_logging(c.log_format, c.log_level);
  raise_descriptor_limit();
  fs::create_directories(c.data_dir);
  c.data_dir = fs::absolute(c.data_dir).lexically_normal().string();

  std::unique_ptr<EmbeddedPostgres> embedded;
  if (c.database_url.empty()) {
    embedded = std::make_unique<EmbeddedPostgres>(c.data_dir);
    c.database_url = embedded->start();
    spdlog::info("embedded PostgreSQL running (socket in {}/pg-socket)", c.data_dir);
  }

  int threads = c.threads > 0 ? c.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  // One io_context per I/O thread, each run by that thread alone: connections are dealt to
  // them in turn (http::Server), and contexts[0] also runs the acceptors, the signals and the
  // startup and sweeper tasks. On this 2-core VM, one io_context shared by two threads spent
  // much of its CPU in futex calls on the scheduler's lock: S3 GET of 4 KiB, 32 connections,
  // depot's CPU per request 0.089-0.091 ms with the shared context, 0.064-0.067 ms with these.
  std::vector<std::unique_ptr<IoContext>> contexts;
  std::vector<asio::io_context*> workers;
  for (int i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<IoContext>(1));
    workers.push_back(contexts.back().get());
  }
  IoContext& ioc = *contexts[0];
  auto stop_all = [&] {
    for (auto& x : contexts) x->stop();
  };
  asio::thread_pool blocking(4);
  int db_conns = c.db_pool > 0 ? c.db_pool : std::max(4, 2 * int(std::max(1u, std::thread::hardware_concurrency())));
  storage::Database db(c.database_url, std::size_t(db_conns));
  auto blobs = storage::make_local_blob_store(fs::path(c.data_dir) / "store", blocking);
  storage::QuotaEngine quota(db, uuid_v4());
  storage::Engine engine(db, *blobs, quota, {c.inline_threshold, c.max_object_bytes});
  auth::UserStore users(db);
  auto key_path = c.master_key_file.empty() ? c.data_dir + "/master.key" : c.master_key_file;
  auth::AccessKeys keys(db, auth::MasterKey::load_or_create(key_path));
  Metrics metrics;
  storage::Sweeper sweeper(db, *blobs, quota, c.sweep_interval, c.orphan_grace, c.node_timeout);
  metrics.add_gauge("depot_db_pool_in_use", "Database connections running a query.", [&] { return double(db.in_use()); });
  metrics.add_gauge("depot_db_pool_waiting", "Database calls waiting for a connection.", [&] { return double(db.waiting()); });
  metrics.add_gauge("depot_db_pool_size", "Database connections in the pool.", [&] { return double(db.pool_size()); });
  metrics.add_counter("depot_probes_total", "Requests' first queries (credentials, bucket, object) run.",
                      [&] { return double(engine.probe_stats().probes); });
  metrics.add_counter("depot_probe_statements_total",
                      "Statements those took: probes waiting for a connection together go as one.",
                      [&] { return double(engine.probe_stats().statements); });
  metrics.add_counter("depot_probe_prefetch_skipped_total",
                      "GET probes that left out a small object's bytes this server held already.",
                      [&] { return double(engine.probe_stats().prefetch_skipped); });
  metrics.add_counter("depot_commit_statements_total", "Group-commit batches written as one statement.",
                      [&] { return double(engine.commit_stats().statements); });
  metrics.add_counter("depot_commit_transactions_total",
                      "Group-commit batches written as a transaction of several statements (hooks, repeated keys).",
                      [&] { return double(engine.commit_stats().transactions); });
  metrics.add_counter("depot_commit_flushes_total",
                      "Flush barriers: waits for the WAL flush that acknowledge the batches written as one statement before them.",
                      [&] { return double(engine.commit_stats().flushes); });
  metrics.add_counter("depot_commit_alone_total", "Writes committed one at a time after their batch failed as a whole.",
                      [&] { return double(engine.commit_stats().alone); });
  metrics.add_counter("depot_sweeper_runs_total", "Sweeper runs.", [&] { return double(sweeper.stats().runs); });
  metrics.add_counter("depot_sweeper_orphans_removed_total", "Orphan blobs removed.",
                      [&] { return double(sweeper.stats().orphans_removed); });
  metrics.add_counter("depot_md5_farm_jobs_total", "Upload chunks hashed in the MD5 farm.",
                      [] { return double(crypto::md5_farm_stats().jobs); });
  metrics.add_counter("depot_md5_farm_kernel_calls_total", "MD5 farm vector kernel calls.",
                      [] { return double(crypto::md5_farm_stats().kernel_calls); });
  metrics.add_counter("depot_md5_farm_lanes_busy_total",
                      "Lanes busy summed over the farm's kernel calls (divided by the calls: the average fill).",
                      [] { return double(crypto::md5_farm_stats().lanes_busy); });
  metrics.add_counter("depot_md5_farm_scalar_calls_total", "MD5 farm segments hashed by the scalar function.",
                      [] { return double(crypto::md5_farm_stats().scalar_calls); });
  metrics.add_gauge("depot_blob_store_free_bytes", "Free bytes where blobs are written.",
                    [&] { return double(blobs->free_bytes()); });

  App app{c, db, *blobs, quota, engine, users, keys, metrics, sweeper, blocking};
  http::Router router(app);
  http::Server server(ioc, c, router, metrics, workers);
  server.listen(c.listen);
  spdlog::info("listening on http://{}", c.listen);
  std::optional<asio::ssl::context> tls;
  if (!c.tls_listen.empty()) {
    auto cert = c.tls_cert, key = c.tls_key;
    if (cert.empty() || key.empty()) {
      cert = c.data_dir + "/tls/cert.pem";
      key = c.data_dir + "/tls/key.pem";
      ensure_self_signed(cert, key);
    }
    tls.emplace(make_tls_context(cert, key));
    server.listen_tls(c.tls_listen, *tls);
    spdlog::info("listening on https://{}", c.tls_listen);
  }

  // The database may be down at start: keep serving (/readyz says 503) and retry until the
  // schema is in place; only then start the sweeper and create the first admin.
  std::atomic<bool> stopping{false};
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        for (int attempt = 1; !stopping; ++attempt) {
          // Blocking work (connect, migrate, hash a password) on the blocking pool. No co_await
          // inside try/catch here: GCC 12 mis-destroys coroutine locals there.
          auto io = co_await asio::this_coro::executor;
          co_await asio::post(blocking, asio::use_awaitable);
          std::string problem = prepare_database(users, keys, db, c);
          co_await asio::post(io, asio::use_awaitable);
          if (problem.empty()) break;
          spdlog::error("database not ready (attempt {}): {}; retrying", attempt, problem);
          t.expires_after(std::chrono::seconds(std::min(attempt, 10)));
          co_await t.async_wait(asio::use_awaitable);
        }
        if (!stopping) co_await sweeper.run();
      },
      asio::detached);

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: no longer accepting; letting requests finish (up to {} s)", sig, c.shutdown_grace.count());
    stopping = true;
    sweeper.stop();
    server.stop_accepting();
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer t(co_await asio::this_coro::executor);
          auto deadline = std::chrono::steady_clock::now() + c.shutdown_grace;
          while (server.open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
            t.expires_after(std::chrono::milliseconds(50));
            co_await t.async_wait(asio::use_awaitable);
          }
          stop_all();
        },
        asio::detached);
  });
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<std::thread> pool;
  // Workers wait for connections until stop_all(), even while they have none.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& x : contexts) guards.push_back(asio::make_work_guard(*x));
  for (int i = 1; i < threads; ++i) pool.emplace_back([&, i] { contexts[std::size_t(i)]->run(); });
  ioc.run();
  stop_all();
  for (auto& t : pool) t.join();
  for (auto& x : contexts) x->destroy_pending();
  blocking.join();
  spdlog::info("server stopped");
  if (embedded) {
    embedded->stop();
    spdlog::info("embedded PostgreSQL stopped");
  }
  spdlog::shutdown();
  return 0;
}

}  // namespace depot::cli
