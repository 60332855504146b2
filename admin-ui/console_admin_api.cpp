// Console administration: branding (public), run-time settings and the test mail, the audit log,
// the overview and the usage history. Settings an admin stores win over the server configuration
// and are read from PostgreSQL, so every server applies a change at once.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cmath>
#include <cstdlib>
#include <regex>

#include "admin-ui/console_admin.hpp"
#include "auth/access_keys.hpp"
#include "auth/users.hpp"
#include "src/metrics.hpp"
#include "src/utf8.hpp"
#include "storage/db.hpp"
#include "storage/sweeper.hpp"

namespace depot::console {
namespace {

constexpr const char* kDefaultColor = "#2457a7";
constexpr std::int64_t kDefaultSampleSeconds = 3600;

// The master key seals the stored SMTP password (the same key file `serve` created).
const auth::MasterKey& master_key(const Config& cfg) {
  static const auth::MasterKey key =
      auth::MasterKey::load_or_create(cfg.master_key_file.empty() ? cfg.data_dir + "/master.key" : cfg.master_key_file);
  return key;
}

std::int64_t default_sample_seconds() {
  if (const char* env = std::getenv("DEPOT_USAGE_SAMPLE_SECONDS")) {
    try {
      auto v = std::stoll(env);
      if (v > 0) return v;
    } catch (const std::exception&) {
    }
  }
  return kDefaultSampleSeconds;
}

std::string stored_or(const storage::SettingMap& m, const std::string& key, const std::string& fallback) {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

// smtp://user:secret@host → smtp://user@host (the URL is shown; a password in it is not).
std::string without_password(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto at = url.find('@', scheme + 3);
  auto slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + url.substr(at);
}

// The SMTP settings in force: the configuration, overridden by what an admin stored.
void apply_smtp(const storage::SettingMap& m, const Config& base, Config& out) {
  out.smtp_url = stored_or(m, "smtp_url", base.smtp_url);
  out.smtp_user = stored_or(m, "smtp_user", base.smtp_user);
  out.mail_from = stored_or(m, "mail_from", base.mail_from);
  if (auto it = m.find("smtp_password"); it != m.end()) {
    auto plain = master_key(base).decrypt(it->second);
    out.smtp_password = plain ? *plain : std::string();
  }
}

json::object branding_json(const Config& cfg, const storage::SettingMap& m) {
  auto logo = stored_or(m, "logo_url", "");
  return json::object{{"site_name", stored_or(m, "site_name", cfg.site_name)},
                      {"logo_url", logo.empty() ? json::value(nullptr) : json::value(logo)},
                      {"primary_color", stored_or(m, "primary_color", kDefaultColor)}};
}

json::object settings_json(const Config& k, const storage::SettingMap& m) {
  Config smtp = k;
  apply_smtp(m, k, smtp);
  std::string webhook = k.stripe_webhook_secret;
  if (webhook.empty())
    if (const char* env = std::getenv("DEPOT_STRIPE_WEBHOOK_SECRET")) webhook = env;
  json::array stored;
  for (const auto& [key, _] : m) stored.push_back(json::value(key));
  auto o = branding_json(k, m);
  o["signup_mode"] = stored_or(m, "signup_mode", k.signup_mode);
  o["require_email_verification"] = k.require_email_verification;
  o["smtp_configured"] = !smtp.smtp_url.empty();
  o["smtp_url"] = without_password(smtp.smtp_url);
  o["smtp_user"] = smtp.smtp_user;
  o["smtp_password_set"] = !smtp.smtp_password.empty();
  o["mail_from"] = smtp.mail_from;
  o["billing_configured"] = !k.stripe_secret_key.empty();
  o["billing_webhook_secret_set"] = !webhook.empty();
  o["stripe_api_base"] = k.stripe_api_base;
  o["payment_grace_seconds"] = k.payment_grace.count();
  o["session_ttl_seconds"] = k.session_ttl.count();
  o["auth_ban_threshold"] = k.auth_ban_threshold;
  o["auth_ban_seconds"] = k.auth_ban_duration.count();
  o["usage_sample_seconds"] = std::stoll(stored_or(m, "usage_sample_seconds", std::to_string(default_sample_seconds())));
  o["stored"] = stored;  // the keys an admin set (the others come from the configuration)
  return o;
}

// Checks one PATCH field; returns the value to store (nullopt: back to the configuration) or a
// problem. Secrets are sealed here.
struct Checked {
  std::optional<std::string> value;
  std::string problem;
};

Checked check_setting(const Config& cfg, const std::string& key, const json::value& v) {
  if (v.is_null()) return {};
  if (key == "usage_sample_seconds") {
    if (!v.is_int64() || v.as_int64() < 1 || v.as_int64() > 7 * 86400)
      return {std::nullopt, "usage_sample_seconds must be an integer from 1 to 604800"};
    return {std::to_string(v.as_int64()), ""};
  }
  if (!v.is_string()) return {std::nullopt, "'" + key + "' must be a string or null"};
  std::string s(v.as_string());
  std::size_t max = key == "logo_url" ? 60000 : 2048;  // a logo may be a data: URL
  if (s.size() > max || has_control_chars(s)) return {std::nullopt, "'" + key + "' is too long or has control characters"};
  if (key == "signup_mode") {
    if (s != "open" && s != "invite" && s != "closed") return {std::nullopt, "signup_mode must be open, invite or closed"};
  } else if (key == "smtp_url") {
    if (!s.empty() && !s.starts_with("smtp://") && !s.starts_with("smtps://"))
      return {std::nullopt, "smtp_url must start with smtp:// or smtps:// (empty: mail waits in the outbox)"};
    // Settings are stored (and audited) as they are; only smtp_password is sealed.
    if (without_password(s) != s)
      return {std::nullopt, "smtp_url must not carry a password: set smtp_user and smtp_password (stored sealed)"};
  } else if (key == "smtp_user") {
    if (s.size() > 256) return {std::nullopt, "smtp_user is too long"};
  } else if (key == "smtp_password") {
    return {master_key(cfg).encrypt(s), ""};
  } else if (key == "mail_from") {
    if (!auth::UserStore::valid_email(s))
      return {std::nullopt, "mail_from must be a plain address like depot@example.com"};
  } else if (key == "site_name") {
    if (s.empty() || s.size() > 100) return {std::nullopt, "site_name must have 1 to 100 characters"};
  } else if (key == "logo_url") {
    // The console's CSP loads images only from this server or data: URLs.
    if (!s.empty() && !(s.starts_with("/") && !s.starts_with("//")) && !s.starts_with("data:image/"))
      return {std::nullopt, "logo_url must be a path on this server (/...) or a data:image/ URL"};
  } else if (key == "primary_color") {
    static const std::regex kColor("#[0-9a-fA-F]{6}");
    if (!std::regex_match(s, kColor)) return {std::nullopt, "primary_color must look like #rrggbb"};
    for (auto& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  } else {
    return {std::nullopt, "there is no setting named '" + key + "'"};
  }
  return {s, ""};
}

asio::awaitable<void> branding(ApiContext& c) {
  storage::ConsoleStore store(c.app.db);
  auto m = co_await store.settings();
  auto o = branding_json(c.app.config, m);
  co_await c.reply(status::ok, std::move(o));
}

asio::awaitable<void> settings_get(ApiContext& c) {
  storage::ConsoleStore store(c.app.db);
  auto m = co_await store.settings();
  auto o = settings_json(c.app.config, m);
  co_await c.reply(status::ok, std::move(o));
}

asio::awaitable<void> settings_update(ApiContext& c) {
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;
  json::object shown;  // for the audit row: values, but never the password
  for (const auto& [k, v] : c.body) {
    std::string key(k);
    auto checked = check_setting(c.app.config, key, v);
    if (!checked.problem.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", checked.problem);
    changes.emplace_back(key, checked.value);
    shown[key] = key == "smtp_password" ? json::value(v.is_null() ? "(cleared)" : "(changed)") : v;
  }
  if (changes.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", "nothing to change");
  auto entry = audit_entry(c, json::object{{"changes", shown}});
  auto by = c.caller->id;
  auto m = co_await c.app.db.tx([&](pqxx::work& w) {
    for (const auto& [key, value] : changes) storage::ConsoleStore::put_setting(w, key, value, by);
    storage::ConsoleStore::audit(w, entry);
    return storage::ConsoleStore::load_settings(w);
  });
  auto o = settings_json(c.app.config, m);
  co_await c.reply(status::ok, std::move(o));
}

asio::awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

// Sends a mail through the outbox like any other and waits (up to 15 s) for the outcome.
asio::awaitable<void> test_mail(ApiContext& c) {
  auto to = c.str("to");
  if (!c.problem.empty() || !to || !auth::UserStore::valid_email(*to))
    co_return co_await c.fail(status::bad_request, "invalid_argument", "'to' must be an email address");
  storage::ConsoleStore store(c.app.db);
  auto m = co_await store.settings();
  Config eff = c.app.config;
  apply_smtp(m, c.app.config, eff);
  auto site = stored_or(m, "site_name", c.app.config.site_name);
  auth::Mail mail{*to, site + ": test mail",
                  "This is a test mail sent from the " + site + " console by " + c.caller->name + ".\n",
                  "<p>This is a test mail sent from the console by an administrator.</p>"};
  auto entry = audit_entry(c, json::object{{"to", *to}});
  auto id = co_await c.app.db.tx([&](pqxx::work& w) {
    auth::Mailer::enqueue(w, mail);
    storage::ConsoleStore::audit(w, entry);
    return w.exec("SELECT currval(pg_get_serial_sequence('outbox', 'id'))")[0][0].as<std::int64_t>();
  });
  if (eff.smtp_url.empty()) {
    json::object o{{"id", id}, {"sent", false}, {"queued", true}, {"error", "no SMTP server is configured: the mail waits in the outbox"}};
    co_return co_await c.reply(status::ok, std::move(o));
  }
  c.svc.mailer.kick(co_await asio::this_coro::executor);
  bool sent = false;
  std::string error;
  int attempts = 0;
  for (int i = 0; i < 60 && !sent && error.empty(); ++i) {
    co_await sleep_ms(250);
    auto row = co_await c.app.db.tx([&](pqxx::work& w) {
      return w.exec_params("SELECT sent_at IS NOT NULL, COALESCE(last_error, ''), attempts FROM outbox WHERE id = $1", id);
    });
    if (row.empty()) break;
    sent = row[0][0].as<bool>();
    error = row[0][1].as<std::string>();
    attempts = row[0][2].as<int>();
  }
  json::object o{{"id", id}, {"sent", sent}, {"queued", !sent}, {"attempts", attempts}};
  o["error"] = sent ? json::value(nullptr)
                    : json::value(error.empty() ? std::string("not sent yet: the mail stays in the outbox") : error);
  co_await c.reply(status::ok, std::move(o));
}

std::int64_t query_int(ApiContext& c, const char* key, std::int64_t fallback) {
  auto it = c.query.find(key);
  if (it == c.query.end()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    return fallback;
  }
}

asio::awaitable<void> audit_list(ApiContext& c) {
  storage::AuditFilter f;
  f.before = query_int(c, "before", 0);
  f.limit = c.limit();
  if (auto it = c.query.find("actor"); it != c.query.end()) f.actor = it->second;
  if (auto it = c.query.find("action"); it != c.query.end()) f.action = it->second;
  storage::ConsoleStore store(c.app.db);
  auto rows = co_await store.audit_log(f);
  json::array items;
  for (const auto& e : rows) {
    json::object o{{"id", e.id}, {"at", e.at},          {"actor", e.actor},  {"actor_addr", e.actor_addr},
                   {"action", e.action}, {"target", e.target}, {"details", e.details}};
    items.push_back(std::move(o));
  }
  json::value next = rows.size() == std::size_t(f.limit) ? json::value(rows.back().id) : json::value(nullptr);
  json::object page{{"items", std::move(items)}, {"next", next}};
  co_await c.reply(status::ok, std::move(page));
}

json::object overview_counts(pqxx::work& w, std::chrono::seconds node_timeout) {
  auto u = w.exec(
      "SELECT count(*), count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'suspended'), "
      "count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE is_admin) FROM users")[0];
  auto t = w.exec("SELECT COALESCE(sum(bytes_used), 0), COALESCE(sum(objects_used), 0), COALESCE(sum(bytes_reserved), 0) FROM usage")[0];
  json::array plans;
  for (const auto& r : w.exec("SELECT p.name, p.bytes_limit, count(u.id) FROM plans p LEFT JOIN users u ON u.plan_id = p.id "
                              "GROUP BY p.name, p.bytes_limit ORDER BY p.bytes_limit, p.name"))
    plans.push_back(json::object{{"plan", r[0].as<std::string>()}, {"bytes_limit", r[1].as<std::int64_t>()}, {"users", r[2].as<std::int64_t>()}});
  json::array top;
  for (const auto& r : w.exec("SELECT u.name, s.bytes_used, s.objects_used, p.name FROM usage s JOIN users u ON u.id = s.user_id "
                              "JOIN plans p ON p.id = u.plan_id ORDER BY s.bytes_used DESC, s.user_id LIMIT 10"))
    top.push_back(json::object{{"name", r[0].as<std::string>()}, {"bytes", r[1].as<std::int64_t>()},
                               {"objects", r[2].as<std::int64_t>()}, {"plan", r[3].as<std::string>()}});
  json::array events;
  for (const auto& r : w.exec("SELECT e.id, e.type, e.effect, to_char(e.received_at AT TIME ZONE 'UTC', "
                              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), u.name FROM billing_events e LEFT JOIN users u ON "
                              "u.id = e.user_id ORDER BY e.received_at DESC LIMIT 10")) {
    json::object o{{"id", r[0].as<std::string>()}, {"type", r[1].as<std::string>()}, {"effect", r[2].as<std::string>()},
                   {"received", r[3].as<std::string>()}};
    o["user"] = r[4].is_null() ? json::value(nullptr) : json::value(r[4].as<std::string>());
    events.push_back(std::move(o));
  }
  auto nodes = w.exec_params("SELECT count(*) FROM nodes WHERE heartbeat_at > now() - make_interval(secs => $1)",
                             double(node_timeout.count()))[0][0].as<std::int64_t>();
  return json::object{
      {"users", {{"total", u[0].as<std::int64_t>()}, {"active", u[1].as<std::int64_t>()}, {"suspended", u[2].as<std::int64_t>()},
                 {"pending", u[3].as<std::int64_t>()}, {"admins", u[4].as<std::int64_t>()}}},
      {"storage", {{"bytes", t[0].as<std::int64_t>()}, {"objects", t[1].as<std::int64_t>()}, {"bytes_reserved", t[2].as<std::int64_t>()}}},
      {"plans", std::move(plans)},
      {"top_users", std::move(top)},
      {"recent_billing_events", std::move(events)},
      {"nodes_alive", nodes}};
}

asio::awaitable<void> overview(ApiContext& c) {
  auto t0 = std::chrono::steady_clock::now();
  bool db_ok = co_await c.app.db.ping();
  auto latency = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto timeout = c.app.config.node_timeout;
  auto o = co_await c.app.db.tx([&](pqxx::work& w) { return overview_counts(w, timeout); });
  json::object health{{"database", {{"ok", db_ok}, {"latency_ms", std::round(latency * 100) / 100}}}};
  struct statvfs vfs {};
  if (::statvfs(c.app.config.data_dir.c_str(), &vfs) == 0) {
    health["blob_store"] = json::object{{"ok", true},
                                        {"free_bytes", std::int64_t(vfs.f_bavail) * std::int64_t(vfs.f_frsize)},
                                        {"total_bytes", std::int64_t(vfs.f_blocks) * std::int64_t(vfs.f_frsize)}};
  } else {
    health["blob_store"] = json::object{{"ok", false}, {"free_bytes", nullptr}, {"total_bytes", nullptr}};
  }
  auto st = c.app.sweeper.stats();
  json::object sweeper{{"runs", st.runs}, {"reservations_released", st.reservations_released}, {"orphans_removed", st.orphans_removed}};
  sweeper["last_run"] = st.runs ? json::value(iso(std::chrono::time_point_cast<std::chrono::microseconds>(st.last_run)))
                                : json::value(nullptr);
  sweeper["last_error"] = st.last_error.empty() ? json::value(nullptr) : json::value(st.last_error);
  sweeper["interval_seconds"] = c.app.config.sweep_interval.count();
  sweeper["nodes_alive"] = o["nodes_alive"];
  health["sweeper"] = std::move(sweeper);
  o.erase("nodes_alive");
  o["health"] = std::move(health);
  co_await c.reply(status::ok, std::move(o));
}

asio::awaitable<void> usage_history(ApiContext& c) {
  int days = int(std::clamp<std::int64_t>(query_int(c, "days", 30), 1, 366));
  storage::ConsoleStore store(c.app.db);
  auto rows = co_await store.usage_history(days);
  auto interval = co_await store.setting_or("usage_sample_seconds", std::to_string(default_sample_seconds()));
  json::array items;
  for (const auto& s : rows)
    items.push_back(json::object{{"at", s.at}, {"users", s.users}, {"bytes", s.bytes}, {"objects", s.objects}});
  json::object o{{"days", days}, {"interval_seconds", std::stoll(interval)}, {"items", std::move(items)}};
  co_await c.reply(status::ok, std::move(o));
}

}  // namespace

void install_console_admin(Services& s) {
  const Config& base = s.app.config;
  s.mailer.set_settings_override([&base](pqxx::work& w, Config& out) {
    apply_smtp(storage::ConsoleStore::load_settings(w), base, out);
  });
  auto& db = s.app.db;
  s.app.sweeper.add_task("usage-samples", [&db]() -> asio::awaitable<void> {
    storage::ConsoleStore store(db);
    auto v = co_await store.setting_or("usage_sample_seconds", std::to_string(default_sample_seconds()));
    std::int64_t secs = kDefaultSampleSeconds;
    try {
      secs = std::stoll(v);
    } catch (const std::exception&) {
    }
    (void)co_await store.sample_usage(std::chrono::seconds(secs));
  });
}

bool audits_itself(Op op) {
  return op == Op::settings_update || op == Op::settings_test_mail || op == Op::user_password_reset;
}

json::object redacted(const json::object& body) {
  json::object out;
  for (const auto& [k, v] : body) {
    std::string key(k);
    bool secret = key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
                  key.find("token") != std::string::npos || key == "totp" || key == "code";
    out[k] = secret ? json::value("(redacted)") : v;
  }
  return out;
}

storage::AuditEntry audit_entry(const ApiContext& c, json::object details) {
  storage::AuditEntry e;
  if (c.caller) {
    e.actor_id = c.caller->id;
    e.actor = c.caller->name;
  }
  e.actor_addr = c.ex.info().remote_addr;
  e.action = c.endpoint.name;
  for (const auto& p : c.endpoint.params) e.target += (e.target.empty() ? "" : "/") + p;
  e.details = std::move(details);
  return e;
}

asio::awaitable<void> audit_call(ApiContext& c) {
  json::object details{{"status", c.ex.status}};
  if (!c.body.empty()) details["body"] = redacted(c.body);
  auto entry = audit_entry(c, std::move(details));
  co_await c.app.db.tx([&](pqxx::work& w) { storage::ConsoleStore::audit(w, entry); });
}

asio::awaitable<void> console_admin_op(ApiContext& c) {
  switch (c.endpoint.op) {
    case Op::branding: co_return co_await branding(c);
    case Op::settings_get: co_return co_await settings_get(c);
    case Op::settings_update: co_return co_await settings_update(c);
    case Op::settings_test_mail: co_return co_await test_mail(c);
    case Op::audit_list: co_return co_await audit_list(c);
    case Op::admin_overview: co_return co_await overview(c);
    case Op::usage_history: co_return co_await usage_history(c);
    default: co_return co_await c.fail(status::not_found, "not_found", "no such operation");
  }
}

}  // namespace depot::console
