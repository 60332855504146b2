// Signing in and out, sign-up, email verification, password reset, email-change confirmation,
// JWT issue and refresh, /me.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>

#include "admin-ui/api_context.hpp"
#include "auth/email_tokens.hpp"
#include "auth/jwt.hpp"
#include "auth/tokens.hpp"
#include "auth/totp.hpp"
#include "auth/totp_secrets.hpp"
#include "storage/db.hpp"
#include "storage/console_store.hpp"
#include "storage/quota.hpp"

namespace depot::console {
namespace {

constexpr std::chrono::seconds kVerifyTtl{48 * 3600};
constexpr std::chrono::seconds kResetTtl{3600};
constexpr std::int64_t kAccessTtl = 900;
constexpr std::int64_t kRefreshTtl = 30 * 24 * 3600;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

std::string session_cookie(const ApiContext& c, const std::string& token, std::int64_t max_age) {
  std::string s = "depot_session=" + token + "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(max_age);
  if (c.ex.info().tls) s += "; Secure";
  return s;
}

// Checks the second factor of a TOTP account: a current code or an unused recovery code.
asio::awaitable<bool> second_factor_ok(ApiContext& c, const auth::User& u, const std::string& code) {
  if (code.empty()) co_return false;
  co_return co_await c.app.db.tx([&](pqxx::work& w) {
    if (auth::use_totp_code(w, c.app.keys.master(), u.id, code, std::time(nullptr))) return true;
    auto used = w.exec_params(
        "UPDATE totp_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL "
        "RETURNING 1",
        u.id, auth::sha256_hex(code));
    return !used.empty();
  });
}

// Name + password (+ TOTP) with the brute-force throttle; answers the failure itself.
asio::awaitable<std::optional<auth::User>> check_credentials(ApiContext& c) {
  auto name = c.str("name");
  if (!name) name = c.str("email");
  auto password = c.str("password");
  auto totp = c.str("totp");
  if (!c.problem.empty() || !name || !password) {
    co_await c.fail_invalid("name and password are required");
    co_return std::nullopt;
  }
  auto addr = c.ex.info().remote_addr;
  // One failure counter per account however it is named: an email in any case is the account's
  // name (else each spelling had a counter of its own, and guesses never reached the ban).
  std::string account = *name;
  if (account.find('@') != std::string::npos) {
    auto by_email = co_await c.app.users.find_by_email(account);
    if (by_email) account = by_email->name;
    else
      for (auto& ch : account) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (auto left = co_await c.svc.throttle.banned(addr, account)) {
    c.retry_after = std::to_string(*left);
    co_await c.fail(status::too_many_requests, "too_many_attempts",
                    "too many failed sign-ins; try again in " + std::to_string(*left) + " seconds");
    co_return std::nullopt;
  }
  auto u = co_await c.app.users.verify_login(*name, *password);
  if (u && u->totp_enabled) {
    if (!totp) {
      co_await c.fail(status::unauthorized, "totp_required", "enter the code of your authenticator app");
      co_return std::nullopt;
    }
    if (!co_await second_factor_ok(c, *u, *totp)) u = make_error(Errc::unauthenticated, "wrong code");
  }
  if (!u) {
    co_await sleep_for(co_await c.svc.throttle.record_failure(addr, account));
    co_await c.fail(status::unauthorized, "unauthenticated", "wrong user name or password");
    co_return std::nullopt;
  }
  co_await c.svc.throttle.record_success(account);
  co_return *u;
}

}  // namespace

asio::awaitable<bool> confirm_password(ApiContext& c, const auth::User& u, const std::string& password) {
  auto addr = c.ex.info().remote_addr;
  if (auto left = co_await c.svc.throttle.banned(addr, u.name)) {
    c.retry_after = std::to_string(*left);
    co_await c.fail(status::too_many_requests, "too_many_attempts",
                    "too many wrong passwords; try again in " + std::to_string(*left) + " seconds");
    co_return false;
  }
  if (!co_await c.app.users.verify_login(u.name, password)) {
    co_await sleep_for(co_await c.svc.throttle.record_failure(addr, u.name));
    co_await c.fail(status::forbidden, "wrong_password", "the password is wrong");
    co_return false;
  }
  co_return true;
}

namespace {

json::object token_pair(ApiContext& c, const auth::User& u, std::int64_t sid, const std::string& refresh) {
  std::int64_t now = std::time(nullptr);
  json::object claims{{"sub", u.id}, {"name", u.name}, {"sid", sid}, {"iat", now}, {"exp", now + kAccessTtl}};
  return json::object{{"access_token", auth::jwt_sign(claims, c.svc.jwt_key)},
                      {"token_type", "Bearer"},
                      {"expires_in", kAccessTtl},
                      {"refresh_token", refresh}};
}

asio::awaitable<void> login(ApiContext& c) {
  auto u = co_await check_credentials(c);
  if (!u) co_return;
  auto [session, token] = co_await c.svc.sessions.create(u->id, c.ex.info().remote_addr,
                                                         std::string(c.ex.header(http::bhttp::field::user_agent)));
  c.set_cookie = session_cookie(c, token, c.app.config.session_ttl.count());
  co_await c.reply(status::ok, [&] { return json::object{{"user", user_json(*u)},
                                            {"csrf_token", session.csrf_token},
                                            {"expires", iso(session.expires)}}; }());
}

asio::awaitable<void> logout(ApiContext& c, bool everywhere) {
  if (everywhere) {
    co_await c.svc.sessions.remove_all(c.caller->id);
  } else if (c.session) {
    (void)co_await c.svc.sessions.remove_by_id(c.caller->id, c.session->id);
  } else if (c.token_id) {
    auto id = *c.token_id;
    co_await c.app.db.tx([&](pqxx::work& w) { w.exec_params("UPDATE api_tokens SET revoked_at = now() WHERE id = $1", id); });
  }
  c.set_cookie = session_cookie(c, "", 0);
  co_await c.reply(status::no_content, nullptr);
}

// Puts a mail of template `kind` in the outbox, in w's transaction (delivery starts after its
// commit: Mailer::kick).
void enqueue_mail(ApiContext& c, pqxx::work& w, const std::string& kind, const std::string& to,
                  std::map<std::string, std::string> vars) {
  auth::Mailer::enqueue(w, auth::render_mail(storage::ConsoleStore::site_name(w, c.app.config.site_name), kind, to, vars));
}

// Enqueues the verification mail for u (address `to`) and starts delivery.
asio::awaitable<void> send_token_mail(ApiContext& c, const auth::User& u, const std::string& purpose,
                                      const std::string& to, const std::string& new_email = {}) {
  std::string kind = purpose == "reset" ? "reset" : purpose == "verify" ? "verify" : "email_change";
  co_await c.app.db.tx([&](pqxx::work& w) {
    // At most 5 mails of a kind per account and hour (no mail bombing); earlier links stay valid.
    auto recent = w.exec_params(
        "SELECT count(*) FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND created_at > now() - interval '1 hour'",
        u.id, purpose);
    if (recent[0][0].as<int>() >= 5) return;
    auto token = auth::issue_email_token(w, u.id, purpose, purpose == "reset" ? kResetTtl : kVerifyTtl, new_email);
    std::string link = purpose == "reset"          ? c.svc.link(c.ex, "/ui/reset-password?token=" + token)
                       : purpose == "verify"       ? c.svc.link(c.ex, "/ui/verify-email?token=" + token)
                                                   : c.svc.link(c.ex, "/ui/confirm-email-change?token=" + token);
    enqueue_mail(c, w, kind, to, {{"name", u.name}, {"link", link}});
  });
  c.svc.mailer.kick(co_await asio::this_coro::executor);
}

asio::awaitable<void> signup(ApiContext& c) {
  // An admin's stored setting wins over the configuration (read each time: every server agrees).
  storage::ConsoleStore settings(c.app.db);
  std::string configured = c.app.config.signup_mode;
  auto mode = co_await settings.setting_or("signup_mode", configured);
  if (mode != "open" && mode != "invite")
    co_return co_await c.fail(status::forbidden, "signup_closed", "sign-up is closed; ask an administrator for an account");
  auto name = c.str("name"), email = c.str("email"), password = c.str("password"), invite = c.str("invite");
  if (!c.problem.empty() || !name || !email || !password)
    co_return co_await c.fail_invalid("name, email and password are required");
  std::string invite_hash;
  if (mode == "invite") {
    if (!invite) co_return co_await c.fail(status::forbidden, "invite_required", "sign-up needs an invite code");
    invite_hash = auth::sha256_hex(*invite);
    bool ok = co_await c.app.db.tx([&](pqxx::work& w) {
      return !w.exec_params(
                   "SELECT 1 FROM invites WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now() AND (email IS "
                   "NULL OR lower(email) = lower($2))",
                   invite_hash, *email)
                  .empty();
    });
    if (!ok) co_return co_await c.fail(status::forbidden, "invite_invalid", "this invite code is not valid or was used");
  }
  // At most signup_limit sign-ups per client address in the throttle's window (15 minutes): each
  // makes an account and mails the address it names, so one client could otherwise fill the
  // database and send mail to any number of addresses.
  if (c.app.config.signup_limit > 0) {
    bool allowed = co_await c.svc.throttle.take("signup:" + c.ex.info().remote_addr, c.app.config.signup_limit);
    if (!allowed) {
      auto window = c.svc.throttle.window().count();
      c.retry_after = std::to_string(window);
      co_return co_await c.fail(status::too_many_requests, "too_many_signups",
                                "too many sign-ups from this address; try again in " + std::to_string(window / 60) + " minutes");
    }
  }
  bool verify = c.app.config.require_email_verification;
  auth::NewUser nu{*name, *email, *password, false, "free", verify ? "pending" : "active", false};
  auto u = co_await c.app.users.create(nu);
  if (!u) co_return co_await c.fail(u.error());
  if (!invite_hash.empty()) {
    bool taken = co_await c.app.db.tx([&](pqxx::work& w) {
      return !w.exec_params(
                   "UPDATE invites SET used_at = now(), used_by = $2 WHERE code_hash = $1 AND used_at IS NULL RETURNING 1",
                   invite_hash, u->id)
                  .empty();
    });
    if (!taken) {  // used by someone else meanwhile
      (void)co_await c.app.users.remove(u->id);
      co_return co_await c.fail(status::forbidden, "invite_invalid", "this invite code is not valid or was used");
    }
  }
  co_await send_token_mail(c, *u, "verify", u->email);
  co_await c.reply(status::created, [&] { return json::object{{"user", user_json(*u)}, {"verification_sent", true}}; }());
}

std::optional<std::string> token_arg(ApiContext& c) {
  if (auto it = c.query.find("token"); it != c.query.end()) return it->second;
  return c.str("token");
}

asio::awaitable<void> verify_email(ApiContext& c) {
  auto token = token_arg(c);
  if (!token) co_return co_await c.fail(status::bad_request, "invalid_argument", "the token is missing");
  auto t = co_await c.app.db.tx([&](pqxx::work& w) { return auth::consume_email_token(w, *token, "verify"); });
  if (!t) co_return co_await c.fail(status::bad_request, "invalid_token", t.error().message);
  auto u = co_await c.app.users.mark_email_verified(t->user);
  if (!u) co_return co_await c.fail(u.error());
  co_await c.reply(status::ok, [&] { return json::object{{"user", user_json(*u)}, {"verified", true}}; }());
}

asio::awaitable<void> reset_request(ApiContext& c) {
  auto email = c.str("email");
  if (!email) co_return co_await c.fail(status::bad_request, "invalid_argument", "email is required");
  auto u = co_await c.app.users.find_by_email(*email);
  if (u && u->status != "suspended") co_await send_token_mail(c, *u, "reset", u->email);
  // The same answer whether or not the address is known.
  co_await c.reply(status::accepted, [&] { return json::object{{"status", "if the address belongs to an account, a link was sent"}}; }());
}

asio::awaitable<void> reset_confirm(ApiContext& c) {
  auto token = c.str("token"), password = c.str("password");
  if (!token || !password) co_return co_await c.fail(status::bad_request, "invalid_argument", "token and password are required");
  if (auto p = auth::password_problem(*password)) co_return co_await c.fail(status::bad_request, "invalid_argument", *p);
  auto t = co_await c.app.db.tx([&](pqxx::work& w) { return auth::consume_email_token(w, *token, "reset"); });
  if (!t) co_return co_await c.fail(status::bad_request, "invalid_token", t.error().message);
  if (auto r = co_await c.app.users.set_password(t->user, *password); !r) co_return co_await c.fail(r.error());
  // The link proved the address; every old session ends.
  (void)co_await c.app.users.mark_email_verified(t->user);
  co_await c.svc.sessions.remove_all(t->user);
  co_await c.reply(status::ok, [&] { return json::object{{"status", "the password was changed; sign in with it"}}; }());
}

asio::awaitable<void> email_change_confirm(ApiContext& c) {
  auto token = token_arg(c);
  if (!token) co_return co_await c.fail(status::bad_request, "invalid_argument", "the token is missing");
  auto t = co_await c.app.db.tx([&](pqxx::work& w) { return auth::consume_email_token(w, *token, "email_change"); });
  if (!t) co_return co_await c.fail(status::bad_request, "invalid_token", t.error().message);
  auto before = co_await c.app.users.find_by_id(t->user);
  if (!before) co_return co_await c.fail(before.error());
  if (auto r = co_await c.app.users.set_email(t->user, t->new_email, true); !r) co_return co_await c.fail(r.error());
  auto u = co_await c.app.users.mark_email_verified(t->user);
  if (!u) co_return co_await c.fail(u.error());
  // The old address hears of it: a stolen session that changed the address is noticed there.
  if (!before->email.empty() && before->email != u->email) {
    co_await c.app.db.tx(
        [&](pqxx::work& w) { enqueue_mail(c, w, "email_changed", before->email, {{"name", u->name}, {"new_email", u->email}}); });
    c.svc.mailer.kick(co_await asio::this_coro::executor);
  }
  co_await c.reply(status::ok, [&] { return json::object{{"user", user_json(*u)}}; }());
}

asio::awaitable<void> token_issue(ApiContext& c) {
  auto u = co_await check_credentials(c);
  if (!u) co_return;
  std::string refresh = auth::random_token(32);
  auto uid = u->id;
  auto sid = co_await c.app.db.tx([&](pqxx::work& w) {
    return w.exec_params(
        "INSERT INTO api_tokens (user_id, refresh_hash, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3)) "
        "RETURNING id",
        uid, auth::sha256_hex(refresh), double(kRefreshTtl))[0][0].as<std::int64_t>();
  });
  co_await c.reply(status::ok, token_pair(c, *u, sid, refresh));
}

asio::awaitable<void> token_refresh(ApiContext& c) {
  auto old = c.str("refresh_token");
  if (!old) co_return co_await c.fail(status::bad_request, "invalid_argument", "refresh_token is required");
  std::string refresh = auth::random_token(32);
  // Rotation: the old refresh token stops working.
  auto row = co_await c.app.db.tx([&](pqxx::work& w) -> std::optional<std::pair<std::int64_t, storage::UserId>> {
    auto r = w.exec_params(
        "UPDATE api_tokens SET refresh_hash = $2 WHERE refresh_hash = $1 AND revoked_at IS NULL AND expires_at > now() "
        "RETURNING id, user_id",
        auth::sha256_hex(*old), auth::sha256_hex(refresh));
    if (r.empty()) return std::nullopt;
    return std::make_pair(r[0][0].as<std::int64_t>(), r[0][1].as<storage::UserId>());
  });
  if (!row) co_return co_await c.fail(status::unauthorized, "unauthenticated", "the refresh token is not valid");
  auto u = co_await c.app.users.find_by_id(row->second);
  if (!u || u->status == "suspended") co_return co_await c.fail(status::unauthorized, "unauthenticated", "the account cannot sign in");
  co_await c.reply(status::ok, token_pair(c, *u, row->first, refresh));
}

asio::awaitable<void> me(ApiContext& c) {
  json::object o{{"user", user_json(*c.caller)}};
  if (c.session) o["csrf_token"] = c.session->csrf_token;
  auto usage = co_await c.app.quota.usage(c.caller->id);
  if (usage)
    o["usage"] = json::object{{"bytes_used", usage->bytes_used},
                              {"objects_used", usage->objects_used},
                              {"bytes_limit", usage->bytes_limit},
                              {"read_only", usage->over_limit()}};
  co_await c.reply(status::ok, o);
}

}  // namespace

asio::awaitable<void> auth_op(ApiContext& c) {
  switch (c.endpoint.op) {
    case Op::login: co_return co_await login(c);
    case Op::logout: co_return co_await logout(c, false);
    case Op::logout_all: co_return co_await logout(c, true);
    case Op::signup: co_return co_await signup(c);
    case Op::verify_email: co_return co_await verify_email(c);
    case Op::reset_request: co_return co_await reset_request(c);
    case Op::reset_confirm: co_return co_await reset_confirm(c);
    case Op::email_change_confirm: co_return co_await email_change_confirm(c);
    case Op::token_issue: co_return co_await token_issue(c);
    case Op::token_refresh: co_return co_await token_refresh(c);
    case Op::me: co_return co_await me(c);
    default: co_return co_await c.fail(status::not_found, "not_found", "no such operation");
  }
}

// Used by users_api.cpp for an email change requested by the user.
asio::awaitable<void> send_email_change(ApiContext& c, const auth::User& u, const std::string& new_email) {
  co_await send_token_mail(c, u, "email_change", new_email, new_email);
}

}  // namespace depot::console
