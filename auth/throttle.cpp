#include "auth/throttle.hpp"

#include "storage/db.hpp"
#include "storage/object_rows.hpp"

namespace depot::auth {
namespace {
// Counts one event of `scope` (a failure, a sign-up) in its window, a new window once the last
// one is over; returns the window's count.
int count_event(pqxx::work& w, const std::string& scope, std::chrono::seconds window) {
  auto r = w.exec_params(
      "INSERT INTO auth_throttle AS t (scope, failures) VALUES ($1, 1) ON CONFLICT (scope) DO UPDATE SET "
      "failures = CASE WHEN t.window_start < now() - make_interval(secs => $2) THEN 1 ELSE t.failures + 1 END, "
      "window_start = CASE WHEN t.window_start < now() - make_interval(secs => $2) THEN now() ELSE t.window_start END, "
      "last_failure = now() RETURNING failures",
      scope, double(window.count()));
  return r[0][0].as<int>();
}
}  // namespace

boost::asio::awaitable<std::optional<std::int64_t>> Throttle::banned(std::string addr, std::string account) {
  co_return co_await db_.tx([&](pqxx::work& w) -> std::optional<std::int64_t> {
    auto r = w.exec_params(
        "SELECT ceil(extract(epoch from max(banned_until) - now()))::bigint FROM auth_throttle WHERE scope IN ($1, $2) "
        "AND banned_until > now()",
        "ip:" + addr, account.empty() ? std::string("-") : "user:" + account);
    if (r.empty() || r[0][0].is_null()) return std::nullopt;
    return std::max<std::int64_t>(1, r[0][0].as<std::int64_t>());
  });
}

boost::asio::awaitable<std::chrono::milliseconds> Throttle::record_failure(std::string addr, std::string account) {
  int worst = co_await db_.tx([&](pqxx::work& w) {
    int most = 0;
    for (const std::string& scope : {"ip:" + addr, account.empty() ? std::string() : "user:" + account}) {
      if (scope.empty()) continue;
      int n = count_event(w, scope, window_);
      int limit = scope.starts_with("ip:") ? threshold_ * 4 : threshold_;
      if (n >= limit)
        w.exec_params(
            "UPDATE auth_throttle SET banned_until = now() + make_interval(secs => $2), failures = 0, window_start = now() "
            "WHERE scope = $1",
            scope, double(ban_.count()));
      most = std::max(most, n);
    }
    return most;
  });
  // Back-off from the fourth failure: 0.2 s, 0.4 s ... at most 2 s.
  if (worst <= 3) co_return std::chrono::milliseconds(0);
  co_return std::chrono::milliseconds(std::min(2000, 100 * (1 << std::min(worst - 3, 5))));
}

boost::asio::awaitable<bool> Throttle::take(std::string scope, int limit) {
  int n = co_await db_.tx([&](pqxx::work& w) { return count_event(w, scope, window_); });
  co_return n <= limit;
}

boost::asio::awaitable<void> Throttle::record_success(std::string account) {
  if (account.empty()) co_return;
  co_await db_.tx([&](pqxx::work& w) {
    w.exec_params("DELETE FROM auth_throttle WHERE scope = $1 AND (banned_until IS NULL OR banned_until < now())",
                  "user:" + account);
  });
}

namespace {
std::vector<Ban> list_bans_in(pqxx::work& w) {
  std::vector<Ban> out;
  for (const auto& r : w.exec(
           "SELECT scope, failures, (extract(epoch from banned_until) * 1000000)::bigint FROM auth_throttle WHERE "
           "banned_until > now() ORDER BY banned_until DESC LIMIT 1000"))
    out.push_back(Ban{r[0].as<std::string>(), r[1].as<int>(), storage::from_micros(r[2].as<std::int64_t>())});
  return out;
}

Result<void> lift_in(pqxx::work& w, const std::string& scope) {
  auto r = w.exec_params("DELETE FROM auth_throttle WHERE scope = $1 AND banned_until > now() RETURNING 1", scope);
  if (r.empty()) return make_error(Errc::not_found, "there is no ban on " + scope);
  return {};
}
}  // namespace

boost::asio::awaitable<std::vector<Ban>> Throttle::list_bans() {
  co_return co_await db_.tx([&](pqxx::work& w) { return list_bans_in(w); });
}

boost::asio::awaitable<Result<void>> Throttle::lift(std::string scope) {
  co_return co_await db_.tx([&](pqxx::work& w) { return lift_in(w, scope); });
}

std::vector<Ban> Throttle::list_bans_sync() {
  return db_.tx_sync([&](pqxx::work& w) { return list_bans_in(w); });
}

Result<void> Throttle::lift_sync(const std::string& scope) {
  return db_.tx_sync([&](pqxx::work& w) { return lift_in(w, scope); });
}

boost::asio::awaitable<void> Throttle::expire() {
  co_await db_.tx([&](pqxx::work& w) {
    w.exec_params(
        "DELETE FROM auth_throttle WHERE (banned_until IS NULL OR banned_until < now()) AND last_failure < now() - "
        "make_interval(secs => $1)",
        double(window_.count()));
  });
}

}  // namespace depot::auth
