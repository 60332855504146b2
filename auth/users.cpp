#include "auth/users.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "storage/db.hpp"
#include "storage/object_rows.hpp"

namespace depot::auth {

namespace {
constexpr const char* kUserSelect =
    "SELECT u.id, u.name, u.email, u.is_admin, u.status, p.name, u.quota_bytes_override, u.quota_objects_override, "
    "u.credentials_version, (extract(epoch from u.created_at) * 1000000)::bigint FROM users u JOIN plans p ON p.id = "
    "u.plan_id ";

User user_from_row(const pqxx::row& r) {
  User u;
  u.id = r[0].as<UserId>();
  u.name = r[1].as<std::string>();
  u.email = r[2].as<std::string>();
  u.is_admin = r[3].as<bool>();
  u.status = r[4].as<std::string>();
  u.plan = r[5].as<std::string>();
  if (!r[6].is_null()) u.quota_bytes_override = r[6].as<std::int64_t>();
  if (!r[7].is_null()) u.quota_objects_override = r[7].as<std::int64_t>();
  u.credentials_version = r[8].as<std::int64_t>();
  u.created = storage::from_micros(r[9].as<std::int64_t>());
  return u;
}

Result<User> find_by(pqxx::work& w, const char* where, const std::string& v) {
  auto r = w.exec_params(std::string(kUserSelect) + where, v);
  if (r.empty()) return make_error(Errc::not_found, "no such user");
  return user_from_row(r[0]);
}

Result<User> create_in(pqxx::work& w, const NewUser& nu, const std::string& hash) {
  auto plan = w.exec_params("SELECT id FROM plans WHERE name = $1", nu.plan);
  if (plan.empty()) return make_error(Errc::not_found, "there is no plan named '" + nu.plan + "'");
  auto exists = w.exec_params("SELECT 1 FROM users WHERE name = $1 OR lower(email) = lower($2)", nu.name, nu.email);
  if (!exists.empty()) return make_error(Errc::already_exists, "a user with this name or email already exists");
  auto r = w.exec_params(
      "INSERT INTO users (name, email, password_hash, is_admin, status, plan_id) VALUES ($1, $2, $3, $4, $5, $6) "
      "RETURNING id",
      nu.name, nu.email, hash, nu.is_admin, nu.status, plan[0][0].as<std::int64_t>());
  auto id = r[0][0].as<UserId>();
  w.exec_params("INSERT INTO usage (user_id) VALUES ($1)", id);
  return find_by(w, "WHERE u.id = $1", std::to_string(id));
}

Result<void> check_new(const NewUser& nu) {
  if (!UserStore::valid_name(nu.name))
    return make_error(Errc::invalid_argument,
                      "a user name is 1 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit");
  if (nu.email.find('@') == std::string::npos || nu.email.size() > 254)
    return make_error(Errc::invalid_argument, "the email address is not valid");
  if (auto p = password_problem(nu.password)) return make_error(Errc::invalid_argument, *p);
  return {};
}
}  // namespace

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
  co_return co_await db_.tx([&, hash = std::optional<std::string>()](pqxx::work& w) mutable {
    if (!hash) hash = hash_password(nu.password);
    return create_in(w, nu, *hash);
  });
}

Result<User> UserStore::find_by_name_sync(const std::string& name) {
  return db_.tx_sync([&](pqxx::work& w) { return find_by(w, "WHERE u.name = $1", name); });
}

boost::asio::awaitable<Result<User>> UserStore::find_by_name(std::string name) {
  co_return co_await db_.tx([&](pqxx::work& w) { return find_by(w, "WHERE u.name = $1", name); });
}

boost::asio::awaitable<Result<User>> UserStore::find_by_id(UserId id) {
  co_return co_await db_.tx([&](pqxx::work& w) { return find_by(w, "WHERE u.id = $1", std::to_string(id)); });
}

std::vector<User> UserStore::list_sync() {
  return db_.tx_sync([&](pqxx::work& w) {
    std::vector<User> out;
    for (const auto& r : w.exec(std::string(kUserSelect) + "ORDER BY u.name")) out.push_back(user_from_row(r));
    return out;
  });
}

boost::asio::awaitable<Result<User>> UserStore::verify_password(std::string name, std::string password) {
  auto row = co_await db_.tx([&](pqxx::work& w) -> std::optional<std::pair<User, std::string>> {
    auto r = w.exec_params(std::string(kUserSelect).replace(7, 0, "u.password_hash, ") + "WHERE u.name = $1", name);
    if (r.empty()) return std::nullopt;
    User u;
    // Columns are shifted by one: password_hash first.
    u.id = r[0][1].as<UserId>();
    u.name = r[0][2].as<std::string>();
    u.email = r[0][3].as<std::string>();
    u.is_admin = r[0][4].as<bool>();
    u.status = r[0][5].as<std::string>();
    u.plan = r[0][6].as<std::string>();
    if (!r[0][7].is_null()) u.quota_bytes_override = r[0][7].as<std::int64_t>();
    if (!r[0][8].is_null()) u.quota_objects_override = r[0][8].as<std::int64_t>();
    u.credentials_version = r[0][9].as<std::int64_t>();
    u.created = storage::from_micros(r[0][10].as<std::int64_t>());
    return std::make_pair(u, r[0][0].as<std::string>());
  });
  // Hash even for unknown users so timing does not reveal which names exist.
  static const std::string kDummy = hash_password("not-a-real-password");
  const std::string& encoded = row ? row->second : kDummy;
  bool ok = co_await db_.run([&](pqxx::connection&) { return verify_password_hash(encoded, password); });
  if (!row || !ok || !row->first.active()) co_return make_error(Errc::unauthenticated, "wrong user name or password");
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
    return {};
  });
}

Result<void> UserStore::remove_sync(const std::string& name) {
  return db_.tx_sync([&](pqxx::work& w) -> Result<void> {
    auto r = w.exec_params("SELECT id FROM users WHERE name = $1 FOR UPDATE", name);
    if (r.empty()) return make_error(Errc::not_found, "there is no user named '" + name + "'");
    auto id = r[0][0].as<UserId>();
    // Drop the user's references to blobs; blobs left without references are deleted here and
    // their files are removed by the orphan sweeper.
    w.exec_params(
        "WITH d AS (DELETE FROM objects o USING buckets b WHERE o.bucket_id = b.id AND b.owner_id = $1 "
        "RETURNING o.blob_id), g AS (SELECT blob_id, count(*) AS n FROM d GROUP BY blob_id) "
        "UPDATE blobs SET refcount = blobs.refcount - g.n FROM g WHERE blobs.id = g.blob_id",
        id);
    w.exec("DELETE FROM blobs WHERE refcount = 0");
    w.exec_params("DELETE FROM users WHERE id = $1", id);
    return {};
  });
}

}  // namespace depot::auth
