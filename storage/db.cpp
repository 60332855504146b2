#include "storage/db.hpp"

#include <libpq-fe.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <spdlog/spdlog.h>
#include <optional>
#include <unordered_set>

namespace depot::storage {

namespace {
thread_local std::unique_ptr<pqxx::connection> t_conn;
thread_local const Database* t_owner = nullptr;
}  // namespace

Database::Database(std::string url, std::size_t pool_size)
    : url_(std::move(url)), pool_size_(pool_size ? pool_size : 1), pool_(pool_size_) {}

pqxx::connection& Database::connection() {
  // Each pool thread owns one connection, opened on first use and reopened after a failure.
  if (t_conn && t_owner == this && t_conn->is_open()) return *t_conn;
  t_conn.reset();
  t_conn = std::make_unique<pqxx::connection>(url_);
  t_owner = this;
  return *t_conn;
}

pqxx::connection& Database::sync_connection() {
  if (!sync_conn_ || !sync_conn_->is_open()) sync_conn_ = std::make_unique<pqxx::connection>(url_);
  return *sync_conn_;
}

void Database::post(std::function<void(pqxx::connection&)> fn) {
  boost::asio::post(pool_, [this, fn = std::move(fn)] {
    try {
      fn(connection());
    } catch (const std::exception& e) {
      spdlog::error("background database work failed: {}", e.what());
    }
  });
}

void Database::post_task(std::function<void()> fn) { boost::asio::post(pool_, std::move(fn)); }

// ---------------------------------------------------------------- query(): libpq on the I/O threads

namespace asio = boost::asio;

namespace pg_detail {
// Type OIDs (pg_type.dat); PgField reads these in binary format.
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kVarchar = 1043, kBpchar = 1042;

const char* value(const pg_result* r, int row, int col) { return PQgetvalue(r, row, col); }
int length(const pg_result* r, int row, int col) { return PQgetlength(r, row, col); }
bool is_null(const pg_result* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }
int rows(const pg_result* r) { return r ? PQntuples(r) : 0; }
std::int64_t integer(const pg_result* r, int row, int col) {
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  const int n = PQgetlength(r, row, col);
  const Oid type = PQftype(r, col);
  const int want = type == kBool ? 1 : type == kInt2 ? 2 : type == kInt4 ? 4 : type == kInt8 ? 8 : 0;
  if (want == 0 || n != want || PQfformat(r, col) != 1)
    throw pqxx::conversion_error("column " + std::to_string(col) + " is not a binary integer or boolean");
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  if (n < 8 && (p[0] & 0x80) && type != kBool) v |= ~std::uint64_t(0) << (8 * n);  // sign-extend
  return static_cast<std::int64_t>(v);
}
void check_text(const pg_result* r, int col) {
  const Oid type = PQftype(r, col);
  if (type != kText && type != kVarchar && type != kBpchar && type != kBytea)
    throw pqxx::conversion_error("column " + std::to_string(col) + " is not text");
}
void Clear::operator()(pg_result* r) const { PQclear(r); }
}  // namespace pg_detail

struct Database::AsyncConn {
  PGconn* pg = nullptr;
  bool used = false;
  std::unordered_set<std::string> prepared;
  ~AsyncConn() {
    if (pg) PQfinish(pg);
  }
};

// Defined here, where AsyncConn is complete: deleting it closes its connection.
Database::~Database() {
  pool_.join();
  for (auto* c : async_free_) delete c;
}

namespace {

// Waits until the socket is ready. The descriptor is registered with the reactor only for the
// wait: a connection outlives the io_context of any one caller (tests run each call on its own).
asio::awaitable<bool> wait_socket(int fd, asio::posix::descriptor_base::wait_type what) {
  if (fd < 0) co_return false;
  auto ex = co_await asio::this_coro::executor;
  asio::posix::stream_descriptor sd(ex, fd);
  struct Release {  // also when the coroutine is destroyed mid-wait: the socket is libpq's to close
    asio::posix::stream_descriptor& sd;
    ~Release() { sd.release(); }
  } release{sd};
  boost::system::error_code ec;
  co_await sd.async_wait(what, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

struct PgOutcome {
  pg_result* result = nullptr;
  bool broken = false;
  std::string error, sqlstate;
};

asio::awaitable<bool> flush(PGconn* pg) {
  for (;;) {
    int rc = PQflush(pg);
    if (rc == 0) co_return true;
    if (rc < 0) co_return false;
    bool ready = co_await wait_socket(PQsocket(pg), asio::posix::descriptor_base::wait_write);
    if (!ready || !PQconsumeInput(pg)) co_return false;
  }
}

// Reads every result of the statement just sent; keeps the last successful one.
asio::awaitable<PgOutcome> collect(PGconn* pg) {
  PgOutcome out;
  // Let the other ready work of this thread run first: under load PostgreSQL has often answered
  // by then, and reading the answer needs no registration with the reactor (three system calls).
  auto ex = co_await asio::this_coro::executor;
  co_await asio::post(ex, asio::use_awaitable);
  if (!PQconsumeInput(pg)) {
    out.broken = true;
    out.error = PQerrorMessage(pg);
    co_return out;
  }
  for (;;) {
    while (PQisBusy(pg)) {
      bool ready = co_await wait_socket(PQsocket(pg), asio::posix::descriptor_base::wait_read);
      if (!ready || !PQconsumeInput(pg)) {
        out.broken = true;
        out.error = PQerrorMessage(pg);
        if (out.result) PQclear(out.result);
        out.result = nullptr;
        co_return out;
      }
    }
    PGresult* r = PQgetResult(pg);
    if (!r) break;
    auto st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      if (out.result) PQclear(out.result);
      out.result = r;
      continue;
    }
    if (out.error.empty()) {
      out.error = PQresultErrorMessage(r);
      if (const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE)) out.sqlstate = state;
    }
    PQclear(r);
  }
  if (PQstatus(pg) == CONNECTION_BAD) {
    out.broken = true;
    if (out.error.empty()) out.error = PQerrorMessage(pg);
  }
  if (!out.error.empty() && out.result) {
    PQclear(out.result);
    out.result = nullptr;
  }
  co_return out;
}

// Opens a connection without blocking the thread (PQconnectStart/PQconnectPoll).
asio::awaitable<PGconn*> connect(const std::string& url) {
  PGconn* pg = PQconnectStart(url.c_str());
  if (!pg) throw pqxx::broken_connection("out of memory opening a database connection");
  auto poll = PGRES_POLLING_WRITING;
  while (poll != PGRES_POLLING_OK && poll != PGRES_POLLING_FAILED && PQstatus(pg) != CONNECTION_BAD) {
    auto what = poll == PGRES_POLLING_READING ? asio::posix::descriptor_base::wait_read
                                              : asio::posix::descriptor_base::wait_write;
    bool ready = co_await wait_socket(PQsocket(pg), what);
    poll = ready ? PQconnectPoll(pg) : PGRES_POLLING_FAILED;
  }
  if (poll != PGRES_POLLING_OK || PQstatus(pg) != CONNECTION_OK || PQsetnonblocking(pg, 1) != 0) {
    std::string msg = PQerrorMessage(pg);
    PQfinish(pg);
    throw pqxx::broken_connection(msg.empty() ? "cannot connect to the database" : msg);
  }
  co_return pg;
}

}  // namespace

asio::awaitable<Database::AsyncConn*> Database::acquire() {
  {
    std::lock_guard lock(async_mu_);
    if (!async_free_.empty()) {
      auto* c = async_free_.back();
      async_free_.pop_back();
      co_return c;
    }
  }
  auto initiate = [this](auto handler) {
    std::unique_lock lock(async_mu_);
    AsyncConn* c = nullptr;
    if (!async_free_.empty()) {
      c = async_free_.back();
      async_free_.pop_back();
    } else if (async_open_ < pool_size_) {
      ++async_open_;
    } else {
      async_waiters_.push_back(make_resumer<AsyncConn*>(std::move(handler)));
      return;
    }
    lock.unlock();
    PostResumer<decltype(handler), AsyncConn*>(std::move(handler)).resume(c);
  };
  auto token = asio::use_awaitable;
  AsyncConn* c = co_await asio::async_initiate<decltype(token), void(AsyncConn*)>(initiate, token);
  if (c) co_return c;
  // This caller holds a free slot: open a connection in it (or give the slot back on failure).
  struct Slot {
    Database* db;
    bool held = true;
    ~Slot() {
      if (held) db->release(nullptr, true);
    }
  } slot{this};
  auto owned = std::make_unique<AsyncConn>();
  owned->pg = co_await connect(url_);
  // query() runs point lookups by equality, whose generic plan is the right one: without this,
  // PostgreSQL kept planning some of them anew on every call (a custom plan looked cheaper than
  // the generic one's estimate for a range or an array parameter), about a third of the time a
  // probe costs it.
  bool set = PQsendQuery(owned->pg, "SET plan_cache_mode = force_generic_plan") == 1;
  if (set) set = co_await flush(owned->pg);
  PgOutcome o;
  if (set) o = co_await collect(owned->pg);
  if (o.result) PQclear(o.result);
  if (!set || o.broken || !o.error.empty())
    throw pqxx::broken_connection(o.error.empty() ? std::string(PQerrorMessage(owned->pg)) : o.error);
  slot.held = false;
  co_return owned.release();
}

void Database::release(AsyncConn* c, bool broken) {
  if (broken) {
    delete c;  // its slot passes to the next waiter, who opens a new connection
    c = nullptr;
  }
  std::unique_ptr<Resumer<AsyncConn*>> next;
  {
    std::lock_guard lock(async_mu_);
    if (async_waiters_.empty()) {
      if (c) async_free_.push_back(c);
      else --async_open_;
      return;
    }
    next = std::move(async_waiters_.front());
    async_waiters_.pop_front();
  }
  next->resume(c);
}

asio::awaitable<PgResult> Database::query(const char* name, const std::string& sql, const std::vector<std::string>& params) {
  // A named object, not a temporary inside the co_await expression (GCC 12 and temporaries with
  // non-trivial destructors in co_await expressions do not mix).
  std::function<Statement()> choose = [&] { return Statement{name, &sql, params}; };
  co_return co_await query(std::move(choose));
}

asio::awaitable<PgResult> Database::query(std::function<Statement()> choose) {
  std::optional<Statement> st;
  std::vector<const char*> values;
  for (int attempt = 0;; ++attempt) {
    // Held until the statement's results are read; a coroutine destroyed mid-statement (at
    // shutdown) or an exception closes the connection, whose protocol state is then unknown.
    struct Lease {
      Database* db;
      AsyncConn* c;
      bool broken = true;
      ~Lease() {
        if (c) db->release(c, broken);
      }
    };
    AsyncConn* conn = co_await acquire();
    Lease lease{this, conn};
    if (!st) {
      st = choose();
      values.reserve(st->params.size());
      for (const auto& p : st->params) values.push_back(p.c_str());
    }
    const char* name = st->name;
    const std::string& sql = *st->sql;
    PGconn* pg = lease.c->pg;
    const bool reused = lease.c->used;
    lease.c->used = true;
    PgOutcome o;
    if (!lease.c->prepared.contains(name)) {
      bool sent = PQsendPrepare(pg, name, sql.c_str(), int(values.size()), nullptr) == 1;
      if (sent) sent = co_await flush(pg);
      if (sent) o = co_await collect(pg);
      else o.broken = true;
      if (o.result) PQclear(o.result);
      o.result = nullptr;
      if (!o.broken && o.error.empty()) lease.c->prepared.insert(name);
    }
    if (!o.broken && o.error.empty()) {
      bool sent = PQsendQueryPrepared(pg, name, int(values.size()), values.data(), nullptr, nullptr, 1) == 1;
      if (sent) sent = co_await flush(pg);
      if (sent) o = co_await collect(pg);
      else o.broken = true;
    }
    if (o.broken) {
      if (o.error.empty()) o.error = PQerrorMessage(pg);
      lease.broken = true;
      // A connection that served before may have been closed by the server meanwhile: once more
      // on a new one.
      if (reused && attempt == 0) continue;
      throw pqxx::broken_connection(o.error);
    }
    lease.broken = false;
    if (!o.error.empty()) throw pqxx::sql_error(o.error, sql, o.sqlstate.empty() ? nullptr : o.sqlstate.c_str());
    co_return PgResult(o.result);
  }
}

boost::asio::awaitable<bool> Database::ping() {
  try {
    co_return co_await run([](pqxx::connection& c) {
      pqxx::nontransaction n(c);
      n.exec("SELECT 1");
      return true;
    });
  } catch (const std::exception& e) {
    spdlog::warn("database ping failed: {}", e.what());
    co_return false;
  }
}

}  // namespace depot::storage
