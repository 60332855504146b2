#include "auth/users.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "auth/tokens.hpp"
#include "src/utf8.hpp"
#include "storage/db.hpp"
#include "storage/object_rows.hpp"

namespace depot::auth {

namespace {
constexpr const char* kUserSelect =
    "SELECT u.id, u.name, u.email, u.is_admin, u.status, p.name, u.quota_bytes_override, u.quota_objects_override, "
    "u.credentials_version, (extract(epoch from u.created_at) * 1000000)::bigint, u.email_verified, "
    "u.dav_password_disabled, u.totp_enabled, COALESCE(u.stripe_customer_id, '') FROM users u JOIN plans p ON p.id = "
    "u.plan_id ";

// Reads the user columns of kUserSelect starting at column `off`.
User user_from_row(const pqxx::row& r, int off = 0) {
  User u;
  u.id = r[off + 0].as<UserId>();
  u.name = r[off + 1].as<std::string>();
  u.email = r[off + 2].as<std::string>();
  u.is_admin = r[off + 3].as<bool>();
  u.status = r[off + 4].as<std::string>();
  u.plan = r[off + 5].as<std::string>();
  if (!r[off + 6].is_null()) u.quota_bytes_override = r[off + 6].as<std::int64_t>();
  if (!r[off + 7].is_null()) u.quota_objects_override = r[off + 7].as<std::int64_t>();
  u.credentials_version = r[off + 8].as<std::int64_t>();
  u.created = storage::from_micros(r[off + 9].as<std::int64_t>());
  u.email_verified = r[off + 10].as<bool>();
  u.dav_password_disabled = r[off + 11].as<bool>();
  u.totp_enabled = r[off + 12].as<bool>();
  u.stripe_customer_id = r[off + 13].as<std::string>();
  return u;
}

Result<User> find_by(pqxx::transaction_base& w, const char* where, const std::string& v) {
  auto r = w.exec_params(std::string(kUserSelect) + where, v);
  if (r.empty()) return make_error(Errc::not_found, "no such user");
  return user_from_row(r[0]);
}

Result<User> one_user(const pqxx::result& r) {
  if (r.empty()) return make_error(Errc::not_found, "no such user");
  return user_from_row(r[0]);
}

Result<User> create_in(pqxx::work& w, const NewUser& nu, const std::string& hash) {
  auto plan = w.exec_params("SELECT id FROM plans WHERE name = $1", nu.plan);
  if (plan.empty()) return make_error(Errc::not_found, "there is no plan named '" + nu.plan + "'");
  auto exists = w.exec_params("SELECT 1 FROM users WHERE name = $1 OR lower(email) = lower($2)", nu.name, nu.email);
  if (!exists.empty()) return make_error(Errc::already_exists, "a user with this name or email already exists");
  auto r = w.exec_params(
      "INSERT INTO users (name, email, password_hash, is_admin, status, plan_id, email_verified) VALUES ($1, $2, $3, $4, "
      "$5, $6, $7) RETURNING id",
      nu.name, nu.email, hash, nu.is_admin, nu.status, plan[0][0].as<std::int64_t>(), nu.email_verified);
  auto id = r[0][0].as<UserId>();
  w.exec_params("INSERT INTO usage (user_id) VALUES ($1)", id);
  return find_by(w, "WHERE u.id = $1", std::to_string(id));
}

Result<void> check_new(const NewUser& nu) {
  if (!UserStore::valid_name(nu.name))
    return make_error(Errc::invalid_argument,
                      "a user name is 1 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit");
  if (!UserStore::valid_email(nu.email))
    return make_error(Errc::invalid_argument, "the email address is not valid");
  if (auto p = password_problem(nu.password)) return make_error(Errc::invalid_argument, *p);
  return {};
}
}  // namespace

bool UserStore::valid_email(std::string_view e) {
  auto at = e.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= e.size() || e.find('@', at + 1) != std::string_view::npos)
    return false;
  if (e.size() > 254 || !valid_utf8(e) || has_control_chars(e)) return false;
  return e.find_first_of(" <>\"(),;:[]\\") == std::string_view::npos;
}

bool UserStore::valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(n[0])) return false;
  for (char c : n)
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

Result<User> UserStore::create_sync(const NewUser& nu) {
  if (auto c = check_new(nu); !c) return c.error();
  auto hash = hash_password(nu.password);
  return db_.tx_sync([&](pqxx::work& w) { return create_in(w, nu, hash); });
}

boost::asio::awaitable<Result<User>> UserStore::create(NewUser nu) {
  if (auto c = check_new(nu); !c) co_return c.error();
  // The hash takes ~100 ms of CPU: run it on the database pool thread with the insert.
  std::optional<std::string> hash;
  co_return co_await db_.tx([&](pqxx::work& w) {
    if (!hash) hash = hash_password(nu.password);
    return create_in(w, nu, *hash);
  });
}

Result<User> UserStore::find_by_name_sync(const std::string& name) {
  return db_.tx_sync([&](pqxx::work& w) { return find_by(w, "WHERE u.name = $1", name); });
}

boost::asio::awaitable<Result<User>> UserStore::find_by_name(std::string name) {
  // Every WebDAV request and console call looks its user up: one prepared read, no transaction.
  static const std::string sql = std::string(kUserSelect) + "WHERE u.name = $1";
  co_return co_await db_.read([&](pqxx::transaction_base& w) {
    return one_user(storage::exec_prepared(w, "users_find_by_name", sql.c_str(), name));
  });
}

boost::asio::awaitable<Result<User>> UserStore::find_by_id(UserId id) {
  static const std::string sql = std::string(kUserSelect) + "WHERE u.id = $1";
  co_return co_await db_.read([&](pqxx::transaction_base& w) {
    return one_user(storage::exec_prepared(w, "users_find_by_id", sql.c_str(), id));
  });
}

std::vector<User> UserStore::list_sync() {
  return db_.tx_sync([&](pqxx::work& w) {
    std::vector<User> out;
    for (const auto& r : w.exec(std::string(kUserSelect) + "ORDER BY u.name")) out.push_back(user_from_row(r));
    return out;
  });
}

boost::asio::awaitable<Result<User>> UserStore::verify_password(std::string name, std::string password) {
  auto r = co_await check_password("u.name = $1", name, password);
  if (!r || !r->active()) co_return make_error(Errc::unauthenticated, "wrong user name or password");
  co_return r;
}

boost::asio::awaitable<Result<User>> UserStore::check_password(const char* where, std::string key, std::string password) {
  auto row = co_await db_.tx([&](pqxx::work& w) -> std::optional<std::pair<User, std::string>> {
    auto r = w.exec_params(std::string(kUserSelect).replace(7, 0, "u.password_hash, ") + "WHERE " + where, key);
    if (r.empty()) return std::nullopt;
    return std::make_pair(user_from_row(r[0], 1), r[0][0].as<std::string>());
  });
  // Hash even for unknown users so timing does not reveal which names exist.
  static const std::string kDummy = hash_password("not-a-real-password");
  const std::string& encoded = row ? row->second : kDummy;
  bool ok = co_await db_.run([&](pqxx::connection&) { return verify_password_hash(encoded, password); });
  if (!row || !ok) co_return make_error(Errc::unauthenticated, "wrong user name or password");
  co_return row->first;
}

Result<void> UserStore::set_plan_sync(const std::string& name, const std::string& plan) {
  return db_.tx_sync([&](pqxx::work& w) -> Result<void> {
    auto p = w.exec_params("SELECT id FROM plans WHERE name = $1", plan);
    if (p.empty()) return make_error(Errc::not_found, "there is no plan named '" + plan + "'");
    auto r = w.exec_params("UPDATE users SET plan_id = $2 WHERE name = $1 RETURNING id", name, p[0][0].as<std::int64_t>());
    if (r.empty()) return make_error(Errc::not_found, "there is no user named '" + name + "'");
    return {};
  });
}

Result<void> UserStore::set_password_sync(const std::string& name, const std::string& password) {
  if (auto p = password_problem(password)) return make_error(Errc::invalid_argument, *p);
  auto hash = hash_password(password);
  return db_.tx_sync([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params(
        "UPDATE users SET password_hash = $2, credentials_version = credentials_version + 1 WHERE name = $1 RETURNING id",
        name, hash);
    if (r.empty()) return make_error(Errc::not_found, "there is no user named '" + name + "'");
    // An operator's reset signs the account out everywhere, as a change in the console does.
    auto id = r[0][0].as<UserId>();
    w.exec_params("DELETE FROM sessions WHERE user_id = $1", id);
    w.exec_params("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", id);
    w.exec_params("DELETE FROM email_tokens WHERE user_id = $1 AND purpose = 'reset'", id);
    return {};
  });
}

namespace {
void remove_user_in(pqxx::work& w, UserId id) {
  // Drop the user's references to blobs; blobs left without references are deleted here and
  // their files are removed by the orphan sweeper.
  w.exec_params(
      "WITH d AS (DELETE FROM objects o USING buckets b WHERE o.bucket_id = b.id AND b.owner_id = $1 "
      "RETURNING o.blob_id), g AS (SELECT blob_id, count(*) AS n FROM d GROUP BY blob_id) "
      "UPDATE blobs SET refcount = blobs.refcount - g.n FROM g WHERE blobs.id = g.blob_id",
      id);
  w.exec("DELETE FROM blobs WHERE refcount = 0");
  w.exec_params("DELETE FROM users WHERE id = $1", id);
}
}  // namespace

Result<User> UserStore::suspend_sync(const std::string& name) {
  return db_.tx_sync([&](pqxx::work& w) -> Result<User> {
    auto r = w.exec_params(
        "UPDATE users SET status = 'suspended', credentials_version = credentials_version + 1 WHERE name = $1 "
        "RETURNING id",
        name);
    if (r.empty()) return make_error(Errc::not_found, "there is no user named '" + name + "'");
    auto id = r[0][0].as<UserId>();
    w.exec_params("DELETE FROM sessions WHERE user_id = $1", id);
    w.exec_params("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", id);
    return find_by(w, "WHERE u.id = $1", std::to_string(id));
  });
}

Result<User> UserStore::reactivate_sync(const std::string& name, bool require_verification) {
  return db_.tx_sync([&](pqxx::work& w) -> Result<User> {
    auto r = w.exec_params(
        "UPDATE users SET status = CASE WHEN status <> 'suspended' THEN status WHEN email_verified OR NOT $2 THEN "
        "'active' ELSE 'pending' END, credentials_version = credentials_version + 1 WHERE name = $1 RETURNING id",
        name, require_verification);
    if (r.empty()) return make_error(Errc::not_found, "there is no user named '" + name + "'");
    return find_by(w, "WHERE u.id = $1", std::to_string(r[0][0].as<UserId>()));
  });
}

Result<void> UserStore::remove_sync(const std::string& name) {
  return db_.tx_sync([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params("SELECT id FROM users WHERE name = $1 FOR UPDATE", name);
    if (r.empty()) return make_error(Errc::not_found, "there is no user named '" + name + "'");
    remove_user_in(w, r[0][0].as<UserId>());
    return {};
  });
}

}  // namespace depot::auth

namespace depot::auth {

boost::asio::awaitable<Result<User>> UserStore::verify_login(std::string name_or_email, std::string password) {
  bool by_email = name_or_email.find('@') != std::string::npos;
  auto r = co_await check_password(by_email ? "lower(u.email) = lower($1)" : "u.name = $1", name_or_email, password);
  if (!r || r->status == "suspended") co_return make_error(Errc::unauthenticated, "wrong user name or password");
  co_return r;
}

boost::asio::awaitable<Result<User>> UserStore::verify_webdav_password(std::string name, std::string secret) {
  // App passwords are long random tokens: a SHA-256 lookup is enough, no slow hash needed.
  auto hash = sha256_hex(secret);
  auto app = co_await db_.tx([&](pqxx::work& w) -> Result<User> {
    auto r = w.exec_params(std::string(kUserSelect) +
                               "JOIN app_passwords a ON a.user_id = u.id WHERE u.name = $1 AND a.hash = $2 AND "
                               "a.revoked_at IS NULL",
                           name, hash);
    if (r.empty()) return make_error(Errc::unauthenticated, "wrong user name or password");
    w.exec_params("UPDATE app_passwords SET last_used = now() WHERE user_id = $1 AND hash = $2", r[0][0].as<UserId>(), hash);
    return user_from_row(r[0]);
  });
  if (app) {
    if (!app->active()) co_return make_error(Errc::unauthenticated, "wrong user name or password");
    co_return app;
  }
  // A second factor cannot be asked over Basic: with TOTP on, the account password alone does
  // not open WebDAV (app passwords do), or it would bypass the second factor.
  auto r = co_await check_password("u.name = $1", name, secret);
  if (!r || !r->active() || r->dav_password_disabled || r->totp_enabled)
    co_return make_error(Errc::unauthenticated, "wrong user name or password");
  co_return r;
}

boost::asio::awaitable<Result<User>> UserStore::find_by_email(std::string email) {
  co_return co_await db_.tx([&](pqxx::work& w) { return find_by(w, "WHERE lower(u.email) = lower($1)", email); });
}

boost::asio::awaitable<std::vector<User>> UserStore::list(std::string after, int limit) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    std::vector<User> out;
    for (const auto& r : w.exec_params(std::string(kUserSelect) + "WHERE u.name > $1 ORDER BY u.name LIMIT $2", after, limit))
      out.push_back(user_from_row(r));
    return out;
  });
}

boost::asio::awaitable<Result<void>> UserStore::update(UserId id, std::string set_sql, std::string value,
                                                       bool bump_credentials) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    std::string sql = "UPDATE users SET " + set_sql;
    if (bump_credentials) sql += ", credentials_version = credentials_version + 1";
    sql += " WHERE id = $1 RETURNING id";
    auto r = w.exec_params(sql, id, value);
    if (r.empty()) return make_error(Errc::not_found, "no such user");
    return {};
  });
}

boost::asio::awaitable<Result<void>> UserStore::set_password(UserId id, std::string password) {
  if (auto p = password_problem(password)) co_return make_error(Errc::invalid_argument, *p);
  auto hash = co_await db_.run([&](pqxx::connection&) { return hash_password(password); });
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params(
        "UPDATE users SET password_hash = $2, credentials_version = credentials_version + 1 WHERE id = $1 RETURNING id", id,
        hash);
    if (r.empty()) return make_error(Errc::not_found, "no such user");
    // A reset link mailed before the change would undo it: it is spent.
    w.exec_params("DELETE FROM email_tokens WHERE user_id = $1 AND purpose = 'reset'", id);
    return {};
  });
}

boost::asio::awaitable<Result<void>> UserStore::set_status(UserId id, std::string status) {
  if (status != "active" && status != "suspended" && status != "pending")
    co_return make_error(Errc::invalid_argument, "status is active, suspended or pending");
  co_return co_await update(id, "status = $2", status, true);
}

boost::asio::awaitable<Result<void>> UserStore::set_email(UserId id, std::string email, bool verified) {
  if (!valid_email(email))
    co_return make_error(Errc::invalid_argument, "the email address is not valid");
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    auto taken = w.exec_params("SELECT 1 FROM users WHERE lower(email) = lower($1) AND id <> $2", email, id);
    if (!taken.empty()) return make_error(Errc::already_exists, "this email address is already in use");
    auto r = w.exec_params("UPDATE users SET email = $2, email_verified = $3 WHERE id = $1 RETURNING id", id, email, verified);
    if (r.empty()) return make_error(Errc::not_found, "no such user");
    return {};
  });
}

boost::asio::awaitable<Result<void>> UserStore::set_plan(UserId id, std::string plan) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    auto p = w.exec_params("SELECT id FROM plans WHERE name = $1", plan);
    if (p.empty()) return make_error(Errc::not_found, "there is no plan named '" + plan + "'");
    auto r = w.exec_params("UPDATE users SET plan_id = $2 WHERE id = $1 RETURNING id", id, p[0][0].as<std::int64_t>());
    if (r.empty()) return make_error(Errc::not_found, "no such user");
    return {};
  });
}

boost::asio::awaitable<Result<void>> UserStore::set_quota_override(UserId id, std::optional<std::int64_t> bytes,
                                                                   std::optional<std::int64_t> objects) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params(
        "UPDATE users SET quota_bytes_override = NULLIF($2, '')::bigint, quota_objects_override = NULLIF($3, '')::bigint "
        "WHERE id = $1 RETURNING id",
        id, bytes ? std::to_string(*bytes) : std::string(), objects ? std::to_string(*objects) : std::string());
    if (r.empty()) return make_error(Errc::not_found, "no such user");
    return {};
  });
}

boost::asio::awaitable<Result<void>> UserStore::set_admin(UserId id, bool admin) {
  co_return co_await update(id, "is_admin = $2::boolean", admin ? "true" : "false", false);
}

boost::asio::awaitable<Result<void>> UserStore::set_dav_password_disabled(UserId id, bool disabled) {
  co_return co_await update(id, "dav_password_disabled = $2::boolean", disabled ? "true" : "false", true);
}

boost::asio::awaitable<Result<void>> UserStore::remove(UserId id) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params("SELECT id FROM users WHERE id = $1 FOR UPDATE", id);
    if (r.empty()) return make_error(Errc::not_found, "no such user");
    remove_user_in(w, id);
    return {};
  });
}

boost::asio::awaitable<Result<User>> UserStore::mark_email_verified(UserId id) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<User> {
    w.exec_params(
        "UPDATE users SET email_verified = true, status = CASE WHEN status = 'pending' THEN 'active' ELSE status END "
        "WHERE id = $1",
        id);
    return find_by(w, "WHERE u.id = $1", std::to_string(id));
  });
}

}  // namespace depot::auth
