#include "storage/console_store.hpp"

#include "storage/db.hpp"

namespace depot::storage {

namespace {
constexpr const char* kIso = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

std::string iso_sql(const std::string& column) { return "to_char(" + column + " AT TIME ZONE 'UTC', " + kIso + ")"; }
}  // namespace

SettingMap ConsoleStore::load_settings(pqxx::work& w) {
  SettingMap out;
  for (const auto& r : w.exec("SELECT key, value FROM console_settings")) out[r[0].as<std::string>()] = r[1].as<std::string>();
  return out;
}

void ConsoleStore::put_setting(pqxx::work& w, const std::string& key, const std::optional<std::string>& value, UserId by) {
  if (!value) {
    w.exec_params("DELETE FROM console_settings WHERE key = $1", key);
    return;
  }
  w.exec_params(
      "INSERT INTO console_settings (key, value, updated_by) VALUES ($1, $2, NULLIF($3, 0)) ON CONFLICT (key) DO UPDATE SET "
      "value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by",
      key, *value, by);
}

boost::asio::awaitable<SettingMap> ConsoleStore::settings() {
  co_return co_await db_.tx([](pqxx::work& w) { return load_settings(w); });
}

std::string ConsoleStore::site_name(pqxx::work& w, const std::string& fallback) {
  auto r = w.exec("SELECT value FROM console_settings WHERE key = 'site_name'");
  return r.empty() ? fallback : r[0][0].as<std::string>();
}

boost::asio::awaitable<std::string> ConsoleStore::setting_or(std::string key, std::string fallback) {
  auto v = co_await db_.tx([&](pqxx::work& w) -> std::optional<std::string> {
    auto r = w.exec_params("SELECT value FROM console_settings WHERE key = $1", key);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
  });
  co_return v ? *v : fallback;
}

void ConsoleStore::audit(pqxx::work& w, const AuditEntry& e) {
  w.exec_params(
      "INSERT INTO audit_log (actor_id, actor, actor_addr, action, target, details) VALUES (NULLIF($1, 0), $2, $3, $4, $5, "
      "$6::jsonb)",
      e.actor_id.value_or(0), e.actor, e.actor_addr, e.action, e.target, boost::json::serialize(e.details));
}

boost::asio::awaitable<std::vector<AuditEntry>> ConsoleStore::audit_log(AuditFilter f) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    std::vector<AuditEntry> out;
    auto rows = w.exec_params("SELECT id, " + iso_sql("at") +
                                  ", actor_id, actor, actor_addr, action, target, details::text FROM audit_log "
                                  "WHERE ($1::bigint = 0 OR id < $1) AND ($2 = '' OR actor = $2) AND ($3 = '' OR action = $3) "
                                  "ORDER BY id DESC LIMIT $4",
                              f.before, f.actor, f.action, f.limit);
    for (const auto& r : rows) {
      AuditEntry e;
      e.id = r[0].as<std::int64_t>();
      e.at = r[1].as<std::string>();
      if (!r[2].is_null()) e.actor_id = r[2].as<std::int64_t>();
      e.actor = r[3].as<std::string>();
      e.actor_addr = r[4].as<std::string>();
      e.action = r[5].as<std::string>();
      e.target = r[6].as<std::string>();
      boost::system::error_code ec;
      auto v = boost::json::parse(r[7].as<std::string>(), ec);
      if (!ec && v.is_object()) e.details = std::move(v.as_object());
      out.push_back(std::move(e));
    }
    return out;
  });
}

boost::asio::awaitable<bool> ConsoleStore::sample_usage(std::chrono::seconds interval) {
  std::int64_t secs = interval.count();
  co_return co_await db_.tx([&](pqxx::work& w) {
    // One server at a time decides; the others see its row and skip.
    w.exec("LOCK TABLE usage_samples IN SHARE ROW EXCLUSIVE MODE");
    auto r = w.exec_params(
        "INSERT INTO usage_samples (at, users, bytes, objects) SELECT now(), t.* FROM (SELECT (SELECT count(*) FROM users), "
        "COALESCE(sum(bytes_used), 0), COALESCE(sum(objects_used), 0) FROM usage) t WHERE NOT EXISTS (SELECT 1 FROM "
        "usage_samples WHERE at > now() - make_interval(secs => $1)) RETURNING 1",
        double(secs) - 0.5);
    return !r.empty();
  });
}

boost::asio::awaitable<std::vector<UsageSample>> ConsoleStore::usage_history(int days) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    std::vector<UsageSample> out;
    // Thinned to at most ~2,000 points: every n-th row, always keeping the newest.
    auto rows = w.exec_params(
        "WITH s AS (SELECT at, users, bytes, objects, row_number() OVER (ORDER BY at DESC) - 1 AS rn, count(*) OVER () AS n "
        "FROM usage_samples WHERE at > now() - make_interval(days => $1)) "
        "SELECT " + iso_sql("at") + ", users, bytes, objects FROM s WHERE rn % GREATEST(1, ceil(n / 2000.0)::bigint) = 0 "
        "ORDER BY at",
        days);
    for (const auto& r : rows)
      out.push_back(UsageSample{r[0].as<std::string>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(), r[3].as<std::int64_t>()});
    return out;
  });
}

}  // namespace depot::storage
