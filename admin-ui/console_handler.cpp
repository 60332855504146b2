// The console front-end: the JSON API under /api/v1/ (and, until the web console lands, a JSON
// 404 for /ui/). One request: route to a typed endpoint → authenticate (session cookie or JWT
// bearer) → CSRF check for cookie sessions → authorize (anyone / user / admin, and a user only
// ever reaches /users/<themselves>) → read the JSON body → the operation.
#include "admin-ui/console_handler.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "admin-ui/api_context.hpp"
#include "admin-ui/console_admin.hpp"
#include "admin-ui/files_api.hpp"
#include "storage/console_store.hpp"
#include "auth/jwt.hpp"
#include "auth/tokens.hpp"
#include "src/http/semantics.hpp"
#include "storage/db.hpp"
#include "storage/sweeper.hpp"

namespace depot::console {
namespace {

constexpr std::size_t kMaxJsonBody = 64 * 1024;
constexpr std::string_view kCookie = "depot_session";

std::string cookie_value(std::string_view header, std::string_view name) {
  std::size_t i = 0;
  while (i < header.size()) {
    auto j = header.find(';', i);
    if (j == std::string_view::npos) j = header.size();
    auto item = header.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    // The first non-empty one: a stale empty cookie of the same name does not sign the caller out.
    if (item.size() > name.size() + 1 && item.starts_with(name) && item[name.size()] == '=')
      return std::string(item.substr(name.size() + 1));
    i = j + 1;
  }
  return {};
}

// nullopt when a name or value does not decode (bad escapes, %00).
std::optional<std::map<std::string, std::string>> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  while (i < q.size()) {
    auto j = q.find('&', i);
    if (j == std::string_view::npos) j = q.size();
    auto item = std::string(q.substr(i, j - i));
    for (auto& ch : item)
      if (ch == '+') ch = ' ';
    auto eq = item.find('=');
    auto k = http::percent_decode(item.substr(0, eq));
    auto v = eq == std::string::npos ? std::optional<std::string>("") : http::percent_decode(item.substr(eq + 1));
    if (!k || !v) return std::nullopt;
    out[*k] = *v;
    i = j + 1;
  }
  return out;
}

bool state_changing(http::bhttp::verb m) { return m != http::bhttp::verb::get && m != http::bhttp::verb::head; }

bool is_user_route(Op op) {
  for (const auto& r : routes())
    if (r.op == op) return std::string_view(r.pattern).starts_with("/users/{name}");
  return false;
}

class ConsoleHandler final : public http::Handler {
 public:
  explicit ConsoleHandler(App& app) : svc_(app) {
    auto& s = svc_;
    app.sweeper.add_task("mail-outbox", [&s]() -> asio::awaitable<void> { co_await s.mailer.deliver_due(); });
    app.sweeper.add_task("console-sessions", [&s]() -> asio::awaitable<void> { co_await s.sessions.expire(); });
    app.sweeper.add_task("auth-throttle", [&s]() -> asio::awaitable<void> { co_await s.throttle.expire(); });
    app.sweeper.add_task("billing-grace", [&s]() -> asio::awaitable<void> {
      int n = co_await s.billing.expire_grace(s.notice_sink());
      if (n > 0) s.mailer.kick(co_await asio::this_coro::executor);
    });
    install_console_admin(s);
  }

  asio::awaitable<void> handle(http::Exchange& ex) override {
    bool failed = false, bad_data = false;
    try {
      co_await serve(ex);
    } catch (const pqxx::data_exception& e) {
      // PostgreSQL refused a value (SQLSTATE class 22: a cursor or number out of range, text it
      // cannot hold) that came from the request: the caller's mistake, not ours.
      spdlog::warn("console API {} {}: {}", std::string(ex.request().method_string()), std::string(ex.path()), e.what());
      failed = bad_data = true;
    } catch (const std::exception& e) {
      spdlog::error("console API {} {}: {}", std::string(ex.request().method_string()), std::string(ex.path()), e.what());
      failed = true;
    }
    if (bad_data && !ex.responded()) {
      auto res = http::make_response(ex, status::bad_request,
                                     error_body(api_error(status::bad_request, "invalid_argument",
                                                          "a value in the request is out of range or not valid")),
                                     "application/json");
      co_return co_await ex.respond(std::move(res));
    }
    if (failed && !ex.responded()) {
      auto res = http::make_response(ex, status::internal_server_error,
                                     error_body(api_error(status::internal_server_error, "internal", "internal error")),
                                     "application/json");
      co_await ex.respond(std::move(res));
    }
  }

 private:
  asio::awaitable<void> serve(http::Exchange& ex) {
    auto method = ex.request().method();
    auto rr = route(method, ex.path());
    if (!rr.endpoint) {
      ex.info().operation = "unknown";
      Endpoint none{Op::openapi, Access::anyone, "unknown", {}};
      ApiContext c(svc_, ex, none);
      if (rr.path_known) {
        c.allow = rr.allow;
        co_return co_await c.fail(status::method_not_allowed, "method_not_allowed", "this method is not allowed here");
      }
      co_return co_await c.fail(status::not_found, "not_found", "there is no such page or API endpoint");
    }
    ApiContext c(svc_, ex, std::move(*rr.endpoint));
    ex.info().operation = c.endpoint.name;
    auto query = parse_query(ex.query());
    if (!query) co_return co_await c.fail(status::bad_request, "invalid_argument", "a query parameter is not validly percent-encoded");
    c.query = std::move(*query);
    for (const auto& [k, v] : c.query)
      if (!http::valid_utf8(k) || !http::valid_utf8(v) || v.find('\0') != std::string::npos || k.find('\0') != std::string::npos)
        co_return co_await c.fail(status::bad_request, "invalid_argument", "a query parameter is not valid UTF-8 or holds a NUL");
    if (c.endpoint.op == Op::stripe_webhook) co_return co_await stripe_webhook(c);

    bool csrf_failed = false;
    co_await authenticate(c, csrf_failed);
    if (c.caller) ex.info().user = c.caller->name;
    if (c.endpoint.access != Access::anyone) {
      if (csrf_failed)
        co_return co_await c.fail(status::forbidden, "csrf_failed", "this call needs the X-CSRF-Token header of the session");
      if (!c.caller) co_return co_await c.fail(status::unauthorized, "unauthenticated", "sign in first");
      if (c.endpoint.access == Access::admin && !c.is_admin())
        co_return co_await c.fail(status::forbidden, "forbidden", "only administrators may do this");
      // A user reaches only their own /users/<name>; others' accounts do not exist for them.
      if (is_user_route(c.endpoint.op) && !c.is_admin() && c.param(0) != c.caller->name)
        co_return co_await c.fail(status::not_found, "not_found", "no such user");
    }
    // Uploads stream their body to the blob store themselves (after the quota check).
    if (state_changing(method) && ex.has_body() && !files_raw_body(c.endpoint.op)) {
      std::string raw;
      char buf[8192];
      for (;;) {
        auto n = co_await ex.read_body(buf, sizeof buf);
        if (n == 0) break;
        raw.append(buf, n);
        if (raw.size() > kMaxJsonBody) co_return co_await c.fail(status::payload_too_large, "too_large", "the request body is too large");
      }
      if (!raw.empty()) {
        // JSON only, declared as such: a cross-site HTML form can send text/plain that parses as
        // JSON, but not application/json (that needs a CORS preflight, never granted). Without
        // this, another site could sign a visitor in to an account of its choosing.
        auto ct = ex.header(http::bhttp::field::content_type);
        auto media = ct.substr(0, std::min(ct.find(';'), ct.size()));
        while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
        if (!boost::iequals(media, "application/json"))
          co_return co_await c.fail(status::unsupported_media_type, "unsupported_media_type",
                                    "the body must be JSON, sent as Content-Type: application/json");
        boost::system::error_code ec;
        auto v = json::parse(raw, ec);
        if (ec || !v.is_object()) co_return co_await c.fail(status::bad_request, "invalid_json", "the body must be a JSON object");
        if (json_has_nul(v)) co_return co_await c.fail(status::bad_request, "invalid_argument", "a string in the body holds a NUL (\\u0000)");
        c.body = std::move(v.as_object());
      }
    }
    co_await dispatch(c);
    // Every successful change an admin makes is in the audit log (some operations write
    // their row inside their own transaction).
    if (c.is_admin() && state_changing(method) && ex.status >= 200 && ex.status < 300 && !audits_itself(c.endpoint.op) &&
        (c.endpoint.access == Access::admin || (is_user_route(c.endpoint.op) && c.param(0) != c.caller->name)))
      co_await audit_call(c);
  }

  // Who is asking: a JWT bearer, else the session cookie (with its CSRF token on writes).
  asio::awaitable<void> authenticate(ApiContext& c, bool& csrf_failed) {
    auto authz = c.ex.header(http::bhttp::field::authorization);
    if (authz.size() > 7 && boost::beast::iequals(authz.substr(0, 7), "Bearer ")) {  // scheme names are case-insensitive
      auto claims = auth::jwt_verify(authz.substr(7), svc_.jwt_key, std::time(nullptr));
      if (!claims) co_return;
      auto sub = claims->if_contains("sub");
      auto sid = claims->if_contains("sid");
      if (!sub || !sub->is_int64() || !sid || !sid->is_int64()) co_return;
      std::int64_t token_id = sid->as_int64();
      bool live = co_await c.app.db.tx([&](pqxx::work& w) {
        return !w.exec_params("SELECT 1 FROM api_tokens WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()", token_id)
                    .empty();
      });
      if (!live) co_return;
      auto u = co_await c.app.users.find_by_id(sub->as_int64());
      if (!u || u->status == "suspended") co_return;
      c.caller = *u;
      c.token_id = token_id;
      co_return;
    }
    auto token = cookie_value(c.ex.header(http::bhttp::field::cookie), kCookie);
    if (token.empty()) co_return;
    auto s = co_await svc_.sessions.lookup(token);
    if (!s) co_return;
    if (state_changing(c.ex.request().method()) &&
        !auth::constant_time_equal(c.ex.header("X-CSRF-Token"), s->csrf_token)) {
      csrf_failed = true;
      co_return;
    }
    auto u = co_await c.app.users.find_by_id(s->user);
    if (!u || u->status == "suspended") co_return;
    c.caller = *u;
    c.session = *s;
  }

  asio::awaitable<void> dispatch(ApiContext& c) {
    switch (c.endpoint.op) {
      case Op::login: case Op::logout: case Op::logout_all: case Op::signup: case Op::verify_email:
      case Op::reset_request: case Op::reset_confirm: case Op::email_change_confirm: case Op::token_issue:
      case Op::token_refresh: case Op::me:
        co_return co_await auth_op(c);
      case Op::users_create: case Op::user_get: case Op::user_update: case Op::user_delete:
      case Op::user_password: case Op::user_usage: case Op::user_suspend: case Op::user_reactivate:
        co_return co_await users_op(c);
      case Op::keys_list: case Op::keys_create: case Op::keys_revoke: case Op::app_passwords_list:
      case Op::app_passwords_create: case Op::app_passwords_revoke: case Op::webdav_password: case Op::sessions_list:
      case Op::sessions_revoke: case Op::totp_setup: case Op::totp_enable: case Op::totp_disable:
        co_return co_await creds_op(c);
      case Op::plans_list: case Op::plans_create: case Op::plans_update: case Op::plans_delete:
        co_return co_await plans_op(c);
      case Op::billing_checkout: case Op::billing_portal: case Op::user_billing_events:
        co_return co_await billing_op(c);
      case Op::bans_list: case Op::bans_lift: case Op::invites_create: case Op::openapi:
      case Op::mail_list:
        co_return co_await admin_op(c);
      case Op::stripe_webhook:
        co_return co_await stripe_webhook(c);
      case Op::branding: case Op::settings_get: case Op::settings_update: case Op::settings_test_mail:
      case Op::audit_list: case Op::admin_overview: case Op::usage_history:
        co_return co_await console_admin_op(c);
      case Op::users_list: case Op::user_buckets: case Op::user_password_reset: case Op::billing_events:
      case Op::billing_event_get:
        co_return co_await console_users_op(c);
      case Op::files_buckets: case Op::files_bucket_create: case Op::files_bucket_delete: case Op::files_list:
      case Op::files_search: case Op::files_download: case Op::files_upload: case Op::files_delete: case Op::files_mkdir:
      case Op::files_move: case Op::files_copy: case Op::files_upload_create: case Op::files_upload_part:
      case Op::files_upload_complete: case Op::files_upload_abort:
        co_return co_await files_op(c);
    }
  }

  Services svc_;
};

std::string read_master_key(const Config& c) {
  auto path = c.master_key_file.empty() ? c.data_dir + "/master.key" : c.master_key_file;
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Services::Services(App& a)
    : app(a),
      sessions(a.db, a.config.session_ttl),
      mailer(a.db, a.config, a.blocking),
      throttle(a.db, a.config),
      app_passwords(a.db),
      plans(a.db),
      billing(a.db, a.config.payment_grace),
      // A key of its own for JWTs, derived from the master key (which serve created already).
      jwt_key(auth::hmac_sha256(read_master_key(a.config), "depot jwt hs256 v1")) {}

void Services::notify(pqxx::work& w, const storage::BillingNotice& n) const {
  auto r = w.exec_params("SELECT name, email FROM users WHERE id = $1", n.user);
  if (r.empty()) return;
  auth::Mailer::enqueue(w, auth::render_mail(storage::ConsoleStore::site_name(w, app.config.site_name), n.kind, r[0][1].as<std::string>(),
                                             {{"name", r[0][0].as<std::string>()}, {"detail", n.detail}}));
}

storage::NoticeSink Services::notice_sink() const {
  return [this](pqxx::work& w, const storage::BillingNotice& n) { notify(w, n); };
}

// Links in mail never come from the request's Host header: anyone can send a password reset
// for a victim with Host: attacker.example, and the genuine mail would carry the token there.
// Without --public-url they point at the server's own listener (TLS first); a wildcard address
// becomes localhost.
std::string Services::link(http::Exchange&, const std::string& path_and_query) const {
  std::string base = app.config.public_url;
  if (base.empty()) {
    bool tls = !app.config.tls_listen.empty();
    std::string addr = tls ? app.config.tls_listen : app.config.listen;
    for (std::string_view any : {"0.0.0.0:", "[::]:", ":"})
      if (addr.starts_with(any)) addr = "localhost:" + addr.substr(any.size());
    base = std::string(tls ? "https://" : "http://") + addr;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + path_and_query;
}

asio::awaitable<void> ApiContext::reply(status st, json::value v) {
  auto res = http::make_response(ex, st, st == status::no_content ? std::string() : json::serialize(v),
                                 st == status::no_content ? std::string_view() : "application/json");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  if (!set_cookie.empty()) res.set(http::bhttp::field::set_cookie, set_cookie);
  co_await ex.respond(std::move(res));
}

asio::awaitable<void> ApiContext::fail(ApiError e) {
  auto res = http::make_response(ex, e.status, error_body(e), "application/json");
  res.set(http::bhttp::field::cache_control, "no-store");
  if (!retry_after.empty()) res.set(http::bhttp::field::retry_after, retry_after);
  if (!allow.empty()) res.set(http::bhttp::field::allow, allow);
  if (!set_cookie.empty()) res.set(http::bhttp::field::set_cookie, set_cookie);
  co_await ex.respond(std::move(res));
}

std::optional<std::string> ApiContext::str(const char* key) {
  auto v = body.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    problem = std::string("'") + key + "' must be a string";
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::optional<std::int64_t> ApiContext::integer(const char* key) {
  auto v = body.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= std::uint64_t(INT64_MAX)) return std::int64_t(v->as_uint64());
  problem = std::string("'") + key + "' must be an integer";
  return std::nullopt;
}

std::optional<bool> ApiContext::boolean(const char* key) {
  auto v = body.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_bool()) {
    problem = std::string("'") + key + "' must be true or false";
    return std::nullopt;
  }
  return v->as_bool();
}

int ApiContext::limit() const {
  auto it = query.find("limit");
  if (it == query.end()) return 100;
  try {
    return std::clamp(std::stoi(it->second), 1, 1000);
  } catch (const std::exception&) {
    return 100;
  }
}

std::string iso(storage::TimePoint t) { return http::format_iso8601(t); }

json::object user_json(const auth::User& u) {
  json::object o{{"id", u.id},
                 {"name", u.name},
                 {"email", u.email},
                 {"email_verified", u.email_verified},
                 {"is_admin", u.is_admin},
                 {"status", u.status},
                 {"plan", u.plan},
                 {"webdav_account_password", !u.dav_password_disabled},
                 {"totp_enabled", u.totp_enabled},
                 {"created", iso(u.created)}};
  o["quota_bytes_override"] = u.quota_bytes_override ? json::value(*u.quota_bytes_override) : json::value(nullptr);
  o["quota_objects_override"] = u.quota_objects_override ? json::value(*u.quota_objects_override) : json::value(nullptr);
  return o;
}

json::object plan_json(const storage::Plan& p) {
  json::object o{{"name", p.name}, {"bytes_limit", p.bytes_limit}, {"public", p.is_public}};
  o["objects_limit"] = p.objects_limit ? json::value(*p.objects_limit) : json::value(nullptr);
  o["price_id"] = p.price_id.empty() ? json::value(nullptr) : json::value(p.price_id);
  return o;
}

std::unique_ptr<http::Handler> make_console_handler(App& app) { return std::make_unique<ConsoleHandler>(app); }

}  // namespace depot::console
