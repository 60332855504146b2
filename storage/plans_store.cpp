#include "storage/plans_store.hpp"

#include "storage/db.hpp"

namespace depot::storage {

namespace {
constexpr const char* kPlanSelect = "SELECT name, bytes_limit, objects_limit, COALESCE(price_id, ''), public FROM plans ";

Plan plan_from_row(const pqxx::row& r) {
  Plan p;
  p.name = r[0].as<std::string>();
  p.bytes_limit = r[1].as<std::int64_t>();
  if (!r[2].is_null()) p.objects_limit = r[2].as<std::int64_t>();
  p.price_id = r[3].as<std::string>();
  p.is_public = r[4].as<bool>();
  return p;
}

Result<Plan> find_in(pqxx::work& w, const std::string& name) {
  auto r = w.exec_params(std::string(kPlanSelect) + "WHERE name = $1", name);
  if (r.empty()) return make_error(Errc::not_found, "there is no plan named '" + name + "'");
  return plan_from_row(r[0]);
}
}  // namespace

bool PlanStore::valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

boost::asio::awaitable<std::vector<Plan>> PlanStore::list(bool include_hidden) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    std::vector<Plan> out;
    for (const auto& r : w.exec(std::string(kPlanSelect) + (include_hidden ? "" : "WHERE public ") +
                                "ORDER BY bytes_limit, name"))
      out.push_back(plan_from_row(r));
    return out;
  });
}

boost::asio::awaitable<Result<Plan>> PlanStore::find(std::string name) {
  co_return co_await db_.tx([&](pqxx::work& w) { return find_in(w, name); });
}

boost::asio::awaitable<Result<Plan>> PlanStore::create(Plan p) {
  if (!valid_name(p.name))
    co_return make_error(Errc::invalid_argument, "a plan name is 1 to 64 characters: a-z, 0-9, '-' or '_'");
  if (p.bytes_limit < 0 || (p.objects_limit && *p.objects_limit < 0))
    co_return make_error(Errc::invalid_argument, "limits cannot be negative");
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<Plan> {
    if (!w.exec_params("SELECT 1 FROM plans WHERE name = $1", p.name).empty())
      return make_error(Errc::already_exists, "a plan named '" + p.name + "' already exists");
    w.exec_params(
        "INSERT INTO plans (name, bytes_limit, objects_limit, price_id, public) VALUES ($1, $2, NULLIF($3, '')::bigint, "
        "NULLIF($4, ''), $5)",
        p.name, p.bytes_limit, p.objects_limit ? std::to_string(*p.objects_limit) : std::string(), p.price_id, p.is_public);
    return find_in(w, p.name);
  });
}

boost::asio::awaitable<Result<Plan>> PlanStore::update(std::string name, PlanChange c) {
  if ((c.bytes_limit && *c.bytes_limit < 0) || (c.objects_limit && *c.objects_limit < -1))
    co_return make_error(Errc::invalid_argument, "limits cannot be negative");
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<Plan> {
    auto cur = find_in(w, name);
    if (!cur) return cur;
    if (c.bytes_limit) w.exec_params("UPDATE plans SET bytes_limit = $2 WHERE name = $1", name, *c.bytes_limit);
    if (c.objects_limit) {
      std::string v = *c.objects_limit >= 0 ? std::to_string(*c.objects_limit) : std::string();
      w.exec_params("UPDATE plans SET objects_limit = NULLIF($2, '')::bigint WHERE name = $1", name, v);
    }
    if (c.price_id) w.exec_params("UPDATE plans SET price_id = NULLIF($2, '') WHERE name = $1", name, *c.price_id);
    if (c.is_public) w.exec_params("UPDATE plans SET public = $2 WHERE name = $1", name, *c.is_public);
    return find_in(w, name);
  });
}

boost::asio::awaitable<Result<void>> PlanStore::remove(std::string name) {
  if (name == "free") co_return make_error(Errc::conflict, "the free plan cannot be removed");
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    auto p = w.exec_params("SELECT id FROM plans WHERE name = $1", name);
    if (p.empty()) return make_error(Errc::not_found, "there is no plan named '" + name + "'");
    if (!w.exec_params("SELECT 1 FROM users WHERE plan_id = $1 LIMIT 1", p[0][0].as<std::int64_t>()).empty())
      return make_error(Errc::conflict, "users are on this plan; move them first");
    w.exec_params("DELETE FROM plans WHERE id = $1", p[0][0].as<std::int64_t>());
    return {};
  });
}

}  // namespace depot::storage
