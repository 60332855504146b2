#include "storage/quota.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "storage/db.hpp"

namespace depot::storage {
namespace asio = boost::asio;

namespace {
// The user's limits: the override if set, else the plan's.
constexpr const char* kLimitsCte =
    "lim AS (SELECT u.id, COALESCE(u.quota_bytes_override, p.bytes_limit) AS bytes_limit, "
    "COALESCE(u.quota_objects_override, p.objects_limit) AS objects_limit "
    "FROM users u JOIN plans p ON p.id = u.plan_id WHERE u.id = $1)";
}  // namespace

Reservation::~Reservation() {
  if (!done_ && q_) q_->release_in_background(user_, id_, bytes_);
}

asio::awaitable<Result<std::unique_ptr<Reservation>>> QuotaEngine::reserve(UserId user, std::int64_t bytes) {
  auto id = co_await db_.tx([&](pqxx::work& w) -> std::optional<std::int64_t> {
    auto r = w.exec_params(std::string("WITH ") + kLimitsCte +
                               ", upd AS (UPDATE usage SET bytes_reserved = bytes_reserved + $2 FROM lim "
                               "WHERE usage.user_id = lim.id AND usage.bytes_used + usage.bytes_reserved + $2 <= "
                               "lim.bytes_limit RETURNING usage.user_id) "
                               "INSERT INTO reservations (user_id, node_id, bytes) SELECT user_id, $3, $2 FROM upd "
                               "RETURNING id",
                           user, bytes, node_id_);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::int64_t>();
  });
  if (!id) co_return make_error(Errc::quota_exceeded, "this upload would exceed your storage quota");
  co_return std::make_unique<Reservation>(*this, user, *id, bytes);
}

asio::awaitable<Result<void>> QuotaEngine::grow(Reservation& r, std::int64_t bytes) {
  bool ok = co_await db_.tx([&](pqxx::work& w) {
    auto res = w.exec_params(std::string("WITH ") + kLimitsCte +
                                 ", upd AS (UPDATE usage SET bytes_reserved = bytes_reserved + $2 FROM lim "
                                 "WHERE usage.user_id = lim.id AND usage.bytes_used + usage.bytes_reserved + $2 <= "
                                 "lim.bytes_limit RETURNING usage.user_id) "
                                 "UPDATE reservations SET bytes = bytes + $2 WHERE id = $3 AND EXISTS (SELECT 1 FROM upd) "
                                 "RETURNING id",
                             r.user_, bytes, r.id_);
    return !res.empty();
  });
  if (!ok) co_return make_error(Errc::quota_exceeded, "this upload exceeds your storage quota");
  r.bytes_ += bytes;
  co_return Result<void>{};
}

asio::awaitable<void> QuotaEngine::release(Reservation& r) {
  if (r.done_) co_return;
  r.done_ = true;
  auto user = r.user_;
  auto id = r.id_;
  co_await db_.tx([=](pqxx::work& w) {
    auto del = w.exec_params("DELETE FROM reservations WHERE id = $1 RETURNING bytes", id);
    if (!del.empty())
      w.exec_params("UPDATE usage SET bytes_reserved = GREATEST(bytes_reserved - $2, 0) WHERE user_id = $1", user,
                    del[0][0].as<std::int64_t>());
  });
}

void QuotaEngine::release_in_background(UserId user, std::int64_t id, std::int64_t bytes) {
  // Called from a destructor: no coroutine to await in, so the release runs on its own.
  db_.post([user, id](pqxx::connection& c) {
    pqxx::work w(c);
    auto del = w.exec_params("DELETE FROM reservations WHERE id = $1 RETURNING bytes", id);
    if (!del.empty())
      w.exec_params("UPDATE usage SET bytes_reserved = GREATEST(bytes_reserved - $2, 0) WHERE user_id = $1", user,
                    del[0][0].as<std::int64_t>());
    w.commit();
  });
}

Result<void> QuotaEngine::commit(pqxx::work& w, Reservation* r, UserId user, std::int64_t bytes_delta,
                                 std::int64_t objects_delta) {
  std::int64_t reserved = 0;
  if (r && !r->done_) {
    auto del = exec_prepared(w, "quota_delete_reservation", "DELETE FROM reservations WHERE id = $1 RETURNING bytes", r->id_);
    if (!del.empty()) reserved = del[0][0].as<std::int64_t>();
  }
  static const std::string sql = std::string("WITH ") + kLimitsCte +
                                 " UPDATE usage SET bytes_used = bytes_used + $2, objects_used = objects_used + $3, "
                                 "bytes_reserved = GREATEST(bytes_reserved - $4, 0) FROM lim WHERE usage.user_id = lim.id "
                                 "RETURNING usage.objects_used, lim.objects_limit";
  auto res = exec_prepared(w, "quota_commit", sql.c_str(), user, bytes_delta, objects_delta, reserved);
  if (objects_delta > 0 && !res.empty() && !res[0][1].is_null() &&
      res[0][0].as<std::int64_t>() > res[0][1].as<std::int64_t>())
    return make_error(Errc::quota_exceeded, "this upload would exceed the number of objects your plan allows");
  if (r) r->done_ = true;
  return {};
}

Result<void> QuotaEngine::commit_batch(pqxx::work& w, UserId user, const std::vector<Reservation*>& rs,
                                       std::int64_t bytes_delta, std::int64_t objects_delta,
                                       std::int64_t unreserved_bytes) {
  std::int64_t reserved = 0;
  std::string ids = "{";
  for (auto* r : rs) {
    if (r->done_) continue;
    if (ids.size() > 1) ids += ',';
    ids += std::to_string(r->id_);
  }
  ids += '}';
  if (ids.size() > 2) {
    auto del = exec_prepared(w, "quota_delete_reservations",
                             "WITH d AS (DELETE FROM reservations WHERE id = ANY($1::bigint[]) RETURNING bytes) "
                             "SELECT COALESCE(sum(bytes), 0)::bigint FROM d",
                             ids);
    reserved = del[0][0].as<std::int64_t>();
  }
  static const std::string sql =
      std::string("WITH ") + kLimitsCte +
      " UPDATE usage SET bytes_used = bytes_used + $2, objects_used = objects_used + $3, "
      "bytes_reserved = GREATEST(bytes_reserved - $4, 0) FROM lim WHERE usage.user_id = lim.id AND ($5 <= 0 OR "
      "usage.bytes_used + GREATEST(usage.bytes_reserved - $4, 0) + $2 <= lim.bytes_limit) AND ($3 <= 0 OR "
      "lim.objects_limit IS NULL OR usage.objects_used + $3 <= lim.objects_limit) RETURNING 1";
  auto res = exec_prepared(w, "quota_commit_batch", sql.c_str(), user, bytes_delta, objects_delta, reserved, unreserved_bytes);
  if (res.empty())
    return make_error(Errc::quota_exceeded, "this upload would exceed your storage quota or the number of objects your plan allows");
  return {};
}

Result<void> QuotaEngine::charge(pqxx::work& w, UserId user, std::int64_t bytes_delta, std::int64_t objects_delta) {
  static const std::string sql = std::string("WITH ") + kLimitsCte +
                                 " UPDATE usage SET bytes_used = bytes_used + $2, objects_used = objects_used + $3 "
                                 "FROM lim WHERE usage.user_id = lim.id AND ($2 <= 0 OR usage.bytes_used + "
                                 "usage.bytes_reserved + $2 <= lim.bytes_limit) AND ($3 <= 0 OR lim.objects_limit IS NULL "
                                 "OR usage.objects_used + $3 <= lim.objects_limit) RETURNING 1";
  auto res = exec_prepared(w, "quota_charge", sql.c_str(), user, bytes_delta, objects_delta);
  if (res.empty())
    return make_error(Errc::quota_exceeded, "this would exceed your storage quota or the number of objects your plan allows");
  return {};
}

void QuotaEngine::credit(pqxx::work& w, UserId user, std::int64_t bytes, std::int64_t objects) {
  if (bytes == 0 && objects == 0) return;
  w.exec_params("UPDATE usage SET bytes_used = bytes_used - $2, objects_used = objects_used - $3 WHERE user_id = $1",
                user, bytes, objects);
}

std::string QuotaEngine::usage_columns() {
  return "qus.bytes_used, qus.objects_used, qus.bytes_reserved, COALESCE(qu.quota_bytes_override, qp.bytes_limit), "
         "COALESCE(qu.quota_objects_override, qp.objects_limit)";
}

std::string QuotaEngine::usage_join(const std::string& condition_param, const std::string& user_param) {
  return "LEFT JOIN (usage qus JOIN users qu ON qu.id = qus.user_id JOIN plans qp ON qp.id = qu.plan_id) ON " +
         condition_param + " AND qus.user_id = " + user_param;
}

Result<Usage> QuotaEngine::usage(pqxx::transaction_base& w, UserId user) {
  static const std::string sql = "SELECT " + usage_columns() + " FROM (SELECT 1) one " + usage_join("true", "$1");
  auto r = exec_prepared(w, "quota_usage", sql.c_str(), user);
  auto u = usage_from_row(r[0], 0);
  if (!u) return make_error(Errc::not_found, "no such user");
  return *u;
}

asio::awaitable<Result<Usage>> QuotaEngine::usage(UserId user) {
  co_return co_await db_.read([&](pqxx::transaction_base& w) { return usage(w, user); });
}

asio::awaitable<void> QuotaEngine::heartbeat() {
  co_await db_.tx([&](pqxx::work& w) {
    w.exec_params(
        "INSERT INTO nodes (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()", node_id_);
  });
}

asio::awaitable<std::int64_t> QuotaEngine::release_dead_nodes(std::chrono::seconds timeout) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    auto r = w.exec_params(
        "WITH dead AS (DELETE FROM nodes WHERE heartbeat_at < now() - make_interval(secs => $1) AND id <> $2 "
        "RETURNING id), "
        "gone AS (DELETE FROM reservations WHERE node_id IN (SELECT id FROM dead) OR "
        "(node_id NOT IN (SELECT id FROM nodes) AND created_at < now() - make_interval(secs => $1)) "
        "RETURNING user_id, bytes), "
        "per_user AS (SELECT user_id, sum(bytes) AS bytes, count(*) AS n FROM gone GROUP BY user_id), "
        "upd AS (UPDATE usage SET bytes_reserved = GREATEST(bytes_reserved - per_user.bytes, 0) FROM per_user "
        "WHERE usage.user_id = per_user.user_id RETURNING per_user.n) "
        "SELECT COALESCE(sum(n), 0)::bigint FROM upd",
        double(timeout.count()), node_id_);
    return r[0][0].as<std::int64_t>();
  });
}

void UsageHints::note(UserId user, const Usage& u) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (seen_.size() > 100000) std::erase_if(seen_, [&](const auto& e) { return now - e.second.at > kFresh; });
  std::int64_t room = u.bytes_limit - u.bytes_used - u.bytes_reserved;
  if (u.objects_limit && u.objects_used >= *u.objects_limit) room = 0;  // a new object would not fit
  seen_[user] = Seen{room, now};
}

bool UsageHints::ample(UserId user, std::uint64_t bytes) const {
  std::lock_guard lock(mu_);
  auto it = seen_.find(user);
  if (it == seen_.end() || std::chrono::steady_clock::now() - it->second.at > kFresh) return false;
  return it->second.room >= kMargin && std::uint64_t(it->second.room - kMargin) >= bytes;
}

}  // namespace depot::storage
