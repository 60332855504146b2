#include "storage/db.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace depot::storage {

namespace {
thread_local std::unique_ptr<pqxx::connection> t_conn;
thread_local const Database* t_owner = nullptr;
}  // namespace

Database::Database(std::string url, std::size_t pool_size)
    : url_(std::move(url)), pool_size_(pool_size ? pool_size : 1), pool_(pool_size_) {}

Database::~Database() { pool_.join(); }

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
