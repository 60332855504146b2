// What every console API operation gets: the app, the account services, the exchange, the typed
// endpoint, the caller (if any) and the parsed JSON body; plus the helpers to answer.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>

#include "admin-ui/api_error.hpp"
#include "admin-ui/api_router.hpp"
#include "auth/app_passwords.hpp"
#include "auth/mailer.hpp"
#include "auth/sessions.hpp"
#include "auth/throttle.hpp"
#include "auth/users.hpp"
#include "src/app.hpp"
#include "src/http/exchange.hpp"
#include "storage/billing_store.hpp"
#include "storage/plans_store.hpp"

namespace depot::console {

// True when a string or member name anywhere in v holds a NUL (JSON's \u0000): PostgreSQL's
// text and jsonb cannot hold one, so a stored value would be cut short or its statement fail.
inline bool json_has_nul(const boost::json::value& v) {
  auto has = [](std::string_view s) { return s.find('\0') != std::string_view::npos; };
  if (v.is_string()) return has(v.get_string());
  if (v.is_array()) {
    for (const auto& e : v.get_array())
      if (json_has_nul(e)) return true;
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object())
      if (has(kv.key()) || json_has_nul(kv.value())) return true;
  }
  return false;
}


namespace asio = boost::asio;
namespace json = boost::json;
using http::bhttp::status;

// The account services the console owns; stateless apart from PostgreSQL, so one per process.
struct Services {
  explicit Services(App& app);
  App& app;
  auth::SessionStore sessions;
  auth::Mailer mailer;
  auth::Throttle throttle;
  auth::AppPasswords app_passwords;
  storage::PlanStore plans;
  storage::BillingStore billing;
  std::string jwt_key;  // derived from the master key

  // Enqueues the mail for a billing notice inside the caller's transaction.
  void notify(pqxx::work& w, const storage::BillingNotice& n) const;
  storage::NoticeSink notice_sink() const;
  // Absolute URL for a path (public-url, else the request's Host).
  std::string link(http::Exchange& ex, const std::string& path_and_query) const;
};

struct ApiContext {
  ApiContext(Services& s, http::Exchange& e, Endpoint ep) : svc(s), app(s.app), ex(e), endpoint(std::move(ep)) {}
  Services& svc;
  App& app;
  http::Exchange& ex;
  Endpoint endpoint;
  std::optional<auth::User> caller;
  std::optional<auth::Session> session;  // when signed in with the cookie
  std::optional<std::int64_t> token_id;  // when signed in with a JWT (api_tokens.id)
  json::object body;
  std::map<std::string, std::string> query;
  std::string set_cookie;   // sent with the response when not empty
  std::string retry_after;  // seconds, sent with an error when not empty
  std::string allow;        // the Allow header of a 405

  bool is_admin() const { return caller && caller->is_admin; }
  const std::string& param(std::size_t i) const { return endpoint.params.at(i); }

  // Answers.
  asio::awaitable<void> reply(status st, json::value v);
  // (By value: the coroutine starts after the caller's temporaries are gone.)
  asio::awaitable<void> fail(ApiError e);
  asio::awaitable<void> fail(const Error& e) { return fail(api_error(e)); }
  asio::awaitable<void> fail(status st, std::string code, std::string message) {
    return fail(api_error(st, std::move(code), std::move(message)));
  }
  // 400 invalid_argument with `problem`, or `missing` when no field had a wrong type. (Not
  // `problem.empty() ? "..." : problem` inside a co_await: GCC 12 destroys the std::string that
  // ?: makes there twice, which corrupted the heap on every such request.)
  asio::awaitable<void> fail_invalid(const char* missing) {
    return fail(status::bad_request, "invalid_argument", problem.empty() ? std::string(missing) : problem);
  }

  // Body fields. The std::optional ones are nullopt when absent; wrong types are reported by
  // `problem` (the handler answers 400 with it).
  std::optional<std::string> str(const char* key);
  std::optional<std::int64_t> integer(const char* key);
  std::optional<bool> boolean(const char* key);
  std::string problem;
  // ?limit= clamped to 1..1000, default 100.
  int limit() const;
};

// JSON of the things the API shows.
json::object user_json(const auth::User& u);
json::object plan_json(const storage::Plan& p);
std::string iso(storage::TimePoint t);

// A password confirmation inside a session (change password, delete the account, S3 keys): true
// when `password` is u's. Failures count against the brute-force throttle as sign-ins do (a
// stolen session cannot guess the password at full speed), and a banned account or address is
// refused; every refusal is answered here (403 wrong_password, 429 too_many_attempts).
asio::awaitable<bool> confirm_password(ApiContext& c, const auth::User& u, const std::string& password);

// The operations, one function each, by family.
asio::awaitable<void> auth_op(ApiContext& c);      // auth_api.cpp: login ... token refresh
asio::awaitable<void> users_op(ApiContext& c);     // users_api.cpp: accounts, password, usage, admin
asio::awaitable<void> creds_op(ApiContext& c);     // keys_api.cpp: S3 keys, app passwords, sessions, TOTP
asio::awaitable<void> plans_op(ApiContext& c);     // plans_api.cpp
asio::awaitable<void> billing_op(ApiContext& c);   // billing.cpp: checkout, portal, events
asio::awaitable<void> admin_op(ApiContext& c);     // admin_api.cpp: bans, invites, settings, OpenAPI
// The webhook reads the raw body itself (the signature is over the exact bytes).
asio::awaitable<void> stripe_webhook(ApiContext& c);

}  // namespace depot::console
