// Database: a pool of PostgreSQL connections for coroutines.
//
// libpqxx is blocking, so SQL never runs on an I/O thread: run() posts the work to a pool of
// threads that each own one connection, and resumes the calling coroutine on its own executor
// when the work is done. One connection per thread means no connection is ever shared and no
// thread waits for a connection; requests wait (bounded) in the pool's queue instead. We chose
// this over libpq's asynchronous API driven by Asio because libpqxx gives us typed results,
// parameters and transactions for free, and the queue makes back-pressure visible in metrics.
//
// The hottest statements (Engine::probe, one per request) skip that hand-off: query() runs a
// prepared statement with libpq's asynchronous API on the calling I/O thread, from a second
// small set of connections each used by one coroutine at a time. Two thread switches per
// request were the largest cost of a small GET in the profiles.
// Thread-safety: all methods may be called from any thread.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "src/resumer.hpp"
#include "storage/pg_result.hpp"

struct pg_conn;  // libpq's PGconn

namespace depot::storage {

// Runs a prepared statement: `name` is prepared with `sql` on the transaction's connection the
// first time (PostgreSQL then skips parsing and planning on later calls). Each name must always
// come with the same sql. For hot point queries; range scans keep exec_params (custom plans).
template <class... Args>
pqxx::result exec_prepared(pqxx::transaction_base& w, const char* name, const char* sql, Args&&... args) {
  w.conn().prepare(name, sql);  // registers it; a no-op when already known with this definition
  return w.exec_prepared(name, std::forward<Args>(args)...);
}

// Thrown from inside a tx() body: the transaction rolls back and tx() returns value. For a
// refusal found after the body has written (a quota charge that fails after the rows went in):
// returning the error instead would commit what was written.
template <class R>
struct RolledBack {
  R value;
};
template <>
struct RolledBack<void> {};

class Database {
 public:
  Database(std::string url, std::size_t pool_size);
  ~Database();

  const std::string& url() const { return url_; }

  // Runs fn(pqxx::connection&) on a pool thread; returns its result. Exceptions propagate.
  template <class F>
  auto run(F fn) -> boost::asio::awaitable<std::invoke_result_t<F, pqxx::connection&>> {
    using R = std::invoke_result_t<F, pqxx::connection&>;
    waiting_++;
    auto work = [this, fn = std::move(fn)]() mutable -> boost::asio::awaitable<R> {
      waiting_--;
      in_use_++;
      struct Done { std::atomic<int>& n; ~Done() { n--; } } done{in_use_};
      co_return fn(connection());
    };
    co_return co_await boost::asio::co_spawn(pool_.get_executor(), std::move(work), boost::asio::use_awaitable);
  }

  // Runs fn(pqxx::work&) in a transaction and commits; retries on serialization failures and
  // deadlocks (up to 5 times) and once on a broken connection.
  template <class F>
  auto tx(F fn) -> boost::asio::awaitable<std::invoke_result_t<F, pqxx::work&>> {
    // A named lambda, not a temporary: GCC 12 destroys lambda temporaries with non-trivial
    // captures twice when they appear inside a co_await expression.
    auto job = [this, fn = std::move(fn)](pqxx::connection& c) mutable {
      return with_retries<std::invoke_result_t<F, pqxx::work&>>(c, fn);
    };
    co_return co_await run(std::move(job));
  }

  // Runs fn(pqxx::transaction_base&) outside a transaction block: each statement commits on its
  // own, so a single-statement read costs one round trip instead of three (BEGIN, the
  // statement, COMMIT). Only for reads that need no consistency across statements.
  template <class F>
  auto read(F fn) -> boost::asio::awaitable<std::invoke_result_t<F, pqxx::transaction_base&>> {
    auto job = [fn = std::move(fn)](pqxx::connection& c) mutable {
      pqxx::nontransaction n(c);
      return fn(static_cast<pqxx::transaction_base&>(n));
    };
    co_return co_await run(std::move(job));
  }

  // The same, blocking the calling thread (CLI commands).
  template <class F>
  auto tx_sync(F fn) -> std::invoke_result_t<F, pqxx::work&> {
    return with_retries<std::invoke_result_t<F, pqxx::work&>>(sync_connection(), fn);
  }

  // Runs fn(pqxx::connection&) on a pool thread without waiting for it (errors are logged).
  void post(std::function<void(pqxx::connection&)> fn);
  // Runs fn on a pool thread without waiting for it; fn may call pool_connection() and must
  // handle its own errors (a connection that cannot be opened throws there).
  void post_task(std::function<void()> fn);
  // The calling pool thread's connection (opened on first use). Only on pool threads.
  pqxx::connection& pool_connection() { return connection(); }

  // Runs the prepared statement `name` (prepared from `sql` on first use on each connection;
  // results in binary format, see pg_result.hpp;
  // each name always comes with the same sql) with text parameters, outside a transaction
  // block, on the calling coroutine's thread (see the top of this file). Throws
  // pqxx::broken_connection when the database cannot be reached, pqxx::sql_error when the
  // statement fails.
  boost::asio::awaitable<PgResult> query(const char* name, const std::string& sql, const std::vector<std::string>& params);

  // A statement for query(): `name` is prepared from `sql` as above.
  struct Statement {
    const char* name = nullptr;
    const std::string* sql = nullptr;  // outlives the query (the callers' are static)
    std::vector<std::string> params;
  };
  // The same, with the statement chosen by `choose` once a connection is held (called once):
  // callers that gather the requests which waited for a connection into one statement
  // (Engine::probe) decide what they send at that moment.
  boost::asio::awaitable<PgResult> query(std::function<Statement()> choose);

  // Checks that the database answers (for /readyz).
  boost::asio::awaitable<bool> ping();

  int in_use() const { return in_use_; }
  int waiting() const { return waiting_; }
  std::size_t pool_size() const { return pool_size_; }

  struct AsyncConn;  // query()'s connections (db.cpp)

 private:
  pqxx::connection& connection();
  pqxx::connection& sync_connection();
  void drop_connection();

  template <class R, class F>
  R with_retries(pqxx::connection& c, F& fn) {
    for (int attempt = 0;; ++attempt) {
      try {
        pqxx::work w(c);
        if constexpr (std::is_void_v<R>) {
          fn(w);
          w.commit();
          return;
        } else {
          R r = fn(w);
          w.commit();
          return r;
        }
      } catch (RolledBack<R>& rb) {
        // The transaction (destroyed on the way here) rolled back.
        if constexpr (std::is_void_v<R>) return;
        else return std::move(rb.value);
      } catch (const pqxx::serialization_failure&) {
        if (attempt >= 5) throw;
      } catch (const pqxx::deadlock_detected&) {
        if (attempt >= 5) throw;
      }
    }
  }

  std::string url_;
  std::size_t pool_size_;
  boost::asio::thread_pool pool_;
  std::atomic<int> in_use_{0};
  std::atomic<int> waiting_{0};
  std::unique_ptr<pqxx::connection> sync_conn_;

  // query()'s connections: at most pool_size_, opened on demand; a caller finding none free
  // waits in line for the next one released.
  boost::asio::awaitable<AsyncConn*> acquire();
  void release(AsyncConn* c, bool broken);
  std::mutex async_mu_;
  std::vector<AsyncConn*> async_free_;
  std::size_t async_open_ = 0;
  // Callers waiting in acquire(): resumed with a free connection, or with nullptr when handed a
  // free slot to open a connection in.
  std::deque<std::unique_ptr<Resumer<AsyncConn*>>> async_waiters_;
};

}  // namespace depot::storage
