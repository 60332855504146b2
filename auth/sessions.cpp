#include "auth/sessions.hpp"

#include "auth/tokens.hpp"
#include "storage/db.hpp"
#include "storage/object_rows.hpp"

namespace depot::auth {

namespace {
constexpr const char* kSessionSelect =
    "SELECT id, user_id, csrf_token, remote_addr, user_agent, (extract(epoch from created_at) * 1000000)::bigint, "
    "(extract(epoch from last_seen) * 1000000)::bigint, (extract(epoch from expires_at) * 1000000)::bigint FROM sessions ";

Session session_from_row(const pqxx::row& r) {
  Session s;
  s.id = r[0].as<std::int64_t>();
  s.user = r[1].as<storage::UserId>();
  s.csrf_token = r[2].as<std::string>();
  s.remote_addr = r[3].as<std::string>();
  s.user_agent = r[4].as<std::string>();
  s.created = storage::from_micros(r[5].as<std::int64_t>());
  s.last_seen = storage::from_micros(r[6].as<std::int64_t>());
  s.expires = storage::from_micros(r[7].as<std::int64_t>());
  return s;
}
}  // namespace

boost::asio::awaitable<std::pair<Session, std::string>> SessionStore::create(storage::UserId user, std::string addr,
                                                                            std::string ua) {
  std::string token = random_token(32);
  std::string csrf = random_token(24);
  if (ua.size() > 256) ua.resize(256);
  auto s = co_await db_.tx([&](pqxx::work& w) {
    auto r = w.exec_params(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, remote_addr, user_agent, expires_at) VALUES ($1, $2, $3, "
        "$4, $5, now() + make_interval(secs => $6)) RETURNING id",
        sha256_hex(token), user, csrf, addr, ua, double(ttl_.count()));
    return session_from_row(w.exec_params(std::string(kSessionSelect) + "WHERE id = $1", r[0][0].as<std::int64_t>())[0]);
  });
  co_return std::make_pair(s, token);
}

boost::asio::awaitable<Result<Session>> SessionStore::lookup(std::string token) {
  if (token.empty() || token.size() > 128) co_return make_error(Errc::unauthenticated, "not signed in");
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<Session> {
    auto r = w.exec_params(std::string(kSessionSelect) + "WHERE token_hash = $1 AND expires_at > now()", sha256_hex(token));
    if (r.empty()) return make_error(Errc::unauthenticated, "the session has expired; sign in again");
    auto s = session_from_row(r[0]);
    // Touch at most once a minute to keep writes down.
    w.exec_params("UPDATE sessions SET last_seen = now() WHERE id = $1 AND last_seen < now() - interval '1 minute'", s.id);
    return s;
  });
}

boost::asio::awaitable<void> SessionStore::remove(std::string token) {
  co_await db_.tx([&](pqxx::work& w) { w.exec_params("DELETE FROM sessions WHERE token_hash = $1", sha256_hex(token)); });
}

boost::asio::awaitable<Result<void>> SessionStore::remove_by_id(storage::UserId user, std::int64_t id) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params("DELETE FROM sessions WHERE id = $1 AND user_id = $2 RETURNING id", id, user);
    if (r.empty()) return make_error(Errc::not_found, "no such session");
    return {};
  });
}

boost::asio::awaitable<void> SessionStore::remove_all(storage::UserId user) {
  co_await db_.tx([&](pqxx::work& w) {
    w.exec_params("DELETE FROM sessions WHERE user_id = $1", user);
    w.exec_params("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user);
  });
}

boost::asio::awaitable<std::vector<Session>> SessionStore::list(storage::UserId user) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    std::vector<Session> out;
    for (const auto& r : w.exec_params(std::string(kSessionSelect) +
                                           "WHERE user_id = $1 AND expires_at > now() ORDER BY last_seen DESC LIMIT 1000",
                                       user))
      out.push_back(session_from_row(r));
    return out;
  });
}

boost::asio::awaitable<void> SessionStore::expire() {
  co_await db_.tx([&](pqxx::work& w) {
    w.exec("DELETE FROM sessions WHERE expires_at < now()");
    w.exec("DELETE FROM email_tokens WHERE expires_at < now() - interval '7 days'");
    w.exec("DELETE FROM api_tokens WHERE expires_at < now() - interval '7 days'");
  });
}

}  // namespace depot::auth
