#include "auth/app_passwords.hpp"

#include "auth/tokens.hpp"
#include "storage/db.hpp"
#include "storage/object_rows.hpp"

namespace depot::auth {

boost::asio::awaitable<Result<AppPassword>> AppPasswords::create(storage::UserId user, std::string name) {
  if (name.empty() || name.size() > 100) co_return make_error(Errc::invalid_argument, "an app password needs a name (1 to 100 characters)");
  AppPassword a;
  a.name = name;
  a.password = random_token(24);
  a.prefix = a.password.substr(0, 4);
  auto r = co_await db_.tx([&](pqxx::work& w) -> Result<std::pair<std::int64_t, std::int64_t>> {
    auto n = w.exec_params("SELECT count(*) FROM app_passwords WHERE user_id = $1 AND revoked_at IS NULL", user);
    if (n[0][0].as<int>() >= 100) return make_error(Errc::invalid_argument, "at most 100 app passwords per user");
    auto r = w.exec_params(
        "INSERT INTO app_passwords (user_id, name, prefix, hash) VALUES ($1, $2, $3, $4) RETURNING id, "
        "(extract(epoch from created_at) * 1000000)::bigint",
        user, a.name, a.prefix, sha256_hex(a.password));
    w.exec_params("UPDATE users SET credentials_version = credentials_version + 1 WHERE id = $1", user);
    return std::make_pair(r[0][0].as<std::int64_t>(), r[0][1].as<std::int64_t>());
  });
  if (!r) co_return r.error();
  a.id = r->first;
  a.created = storage::from_micros(r->second);
  co_return a;
}

boost::asio::awaitable<std::vector<AppPassword>> AppPasswords::list(storage::UserId user) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    std::vector<AppPassword> out;
    for (const auto& r : w.exec_params(
             "SELECT id, name, prefix, (extract(epoch from created_at) * 1000000)::bigint, (extract(epoch from last_used) "
             "* 1000000)::bigint FROM app_passwords WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id",
             user)) {
      AppPassword a;
      a.id = r[0].as<std::int64_t>();
      a.name = r[1].as<std::string>();
      a.prefix = r[2].as<std::string>();
      a.created = storage::from_micros(r[3].as<std::int64_t>());
      if (!r[4].is_null()) a.last_used = storage::from_micros(r[4].as<std::int64_t>());
      out.push_back(a);
    }
    return out;
  });
}

boost::asio::awaitable<Result<void>> AppPasswords::revoke(storage::UserId user, std::int64_t id) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params(
        "UPDATE app_passwords SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id",
        id, user);
    if (r.empty()) return make_error(Errc::not_found, "no such app password");
    // Drops cached WebDAV credentials of this user.
    w.exec_params("UPDATE users SET credentials_version = credentials_version + 1 WHERE id = $1", user);
    return {};
  });
}

}  // namespace depot::auth
