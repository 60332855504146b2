// Credentials of an account: S3 access keys, WebDAV app passwords and the account password's use
// over WebDAV, console sessions, TOTP two-factor sign-in.
#include <openssl/rand.h>

#include <charconv>

#include "admin-ui/api_context.hpp"
#include "auth/access_keys.hpp"
#include "auth/tokens.hpp"
#include "auth/totp.hpp"
#include "auth/totp_secrets.hpp"
#include "storage/db.hpp"

namespace depot::console {
namespace {

asio::awaitable<std::optional<auth::User>> target(ApiContext& c) {
  auto u = co_await c.app.users.find_by_name(c.param(0));
  if (!u) {
    co_await c.fail(status::not_found, "not_found", "no such user");
    co_return std::nullopt;
  }
  co_return *u;
}

// Digits only (stoll would also take " +1" for 1).
std::optional<std::int64_t> id_param(const ApiContext& c) {
  const auto& p = c.param(1);
  std::int64_t v = 0;
  auto r = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || p[0] == '-' || r.ec != std::errc{} || r.ptr != p.data() + p.size()) return std::nullopt;
  return v;
}

json::object key_json(const auth::AccessKey& k) {
  return json::object{{"id", k.id}, {"label", k.label}, {"created", iso(k.created)}};
}

// Credentials for the protocols only for an active account: keys or app passwords made by
// whoever signed up a pending account with someone else's address would wake up when the
// address's owner claimed it. False (and a 403 sent) otherwise.
asio::awaitable<bool> active_for_credentials(ApiContext& c, const auth::User& u) {
  if (u.status == "active") co_return true;
  co_await c.fail(status::forbidden, "forbidden", "the account is not active (is its email address verified?)");
  co_return false;
}

asio::awaitable<void> keys(ApiContext& c) {
  auto u = co_await target(c);
  if (!u) co_return;
  if (c.endpoint.op == Op::keys_list) {
    json::array items;
    for (const auto& k : co_await c.app.keys.list(u->id)) items.push_back(key_json(k));
    co_return co_await c.reply(status::ok, [&] { return json::object{{"items", items}, {"next", nullptr}}; }());
  }
  if (c.endpoint.op == Op::keys_create) {
    bool active = co_await active_for_credentials(c, *u);
    if (!active) co_return;
  }
  if (c.endpoint.op == Op::keys_create) {
    auto label = c.str("label");
    if (!c.problem.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", c.problem);
    if (label && label->size() > 200) co_return co_await c.fail(status::bad_request, "invalid_argument", "the label is too long");
    auto k = co_await c.app.keys.create(u->id, label.value_or(""));
    if (!k) co_return co_await c.fail(k.error());
    auto o = key_json(*k);
    o["secret"] = k->secret;  // shown once
    co_return co_await c.reply(status::created, o);
  }
  auto r = co_await c.app.keys.revoke(u->id, c.param(1));
  if (!r) co_return co_await c.fail(r.error());
  co_await c.reply(status::no_content, nullptr);
}

json::object app_password_json(const auth::AppPassword& a) {
  json::object o{{"id", a.id}, {"name", a.name}, {"prefix", a.prefix}, {"created", iso(a.created)}};
  o["last_used"] = a.last_used ? json::value(iso(*a.last_used)) : json::value(nullptr);
  return o;
}

asio::awaitable<void> app_passwords(ApiContext& c) {
  auto u = co_await target(c);
  if (!u) co_return;
  if (c.endpoint.op == Op::app_passwords_create) {
    bool active = co_await active_for_credentials(c, *u);
    if (!active) co_return;
  }
  if (c.endpoint.op == Op::app_passwords_list) {
    json::array items;
    for (const auto& a : co_await c.svc.app_passwords.list(u->id)) items.push_back(app_password_json(a));
    co_return co_await c.reply(status::ok, [&] { return json::object{{"items", items}, {"next", nullptr}}; }());
  }
  if (c.endpoint.op == Op::app_passwords_create) {
    auto name = c.str("name");
    if (!c.problem.empty() || !name)
      co_return co_await c.fail_invalid("name is required");
    auto a = co_await c.svc.app_passwords.create(u->id, *name);
    if (!a) co_return co_await c.fail(a.error());
    auto o = app_password_json(*a);
    o["password"] = a->password;  // shown once
    co_return co_await c.reply(status::created, o);
  }
  if (c.endpoint.op == Op::webdav_password) {
    auto enabled = c.boolean("enabled");
    if (!enabled) co_return co_await c.fail_invalid("enabled is required");
    if (auto r = co_await c.app.users.set_dav_password_disabled(u->id, !*enabled); !r) co_return co_await c.fail(r.error());
    co_return co_await c.reply(status::ok, [&] { return json::object{{"webdav_account_password", *enabled}}; }());
  }
  auto id = id_param(c);
  if (!id) co_return co_await c.fail(status::not_found, "not_found", "no such app password");
  auto r = co_await c.svc.app_passwords.revoke(u->id, *id);
  if (!r) co_return co_await c.fail(r.error());
  co_await c.reply(status::no_content, nullptr);
}

asio::awaitable<void> sessions(ApiContext& c) {
  auto u = co_await target(c);
  if (!u) co_return;
  if (c.endpoint.op == Op::sessions_list) {
    json::array items;
    for (const auto& s : co_await c.svc.sessions.list(u->id))
      items.push_back(json::object{{"id", s.id},
                                   {"remote_addr", s.remote_addr},
                                   {"user_agent", s.user_agent},
                                   {"created", iso(s.created)},
                                   {"last_seen", iso(s.last_seen)},
                                   {"expires", iso(s.expires)},
                                   {"current", c.session && c.session->id == s.id}});
    co_return co_await c.reply(status::ok, [&] { return json::object{{"items", items}, {"next", nullptr}}; }());
  }
  auto id = id_param(c);
  if (!id) co_return co_await c.fail(status::not_found, "not_found", "no such session");
  auto r = co_await c.svc.sessions.remove_by_id(u->id, *id);
  if (!r) co_return co_await c.fail(r.error());
  co_await c.reply(status::no_content, nullptr);
}

asio::awaitable<void> totp(ApiContext& c) {
  auto u = co_await target(c);
  if (!u) co_return;
  auto uid = u->id;
  if (c.endpoint.op == Op::totp_setup) {
    if (u->totp_enabled) co_return co_await c.fail(status::conflict, "conflict", "two-factor sign-in is already on; disable it first");
    std::string raw(20, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), int(raw.size()));
    auto secret = auth::base32(raw);
    co_await c.app.db.tx([&](pqxx::work& w) { auth::start_totp_secret(w, c.app.keys.master(), uid, raw); });
    co_return co_await c.reply(status::ok, [&] { return json::object{{"secret", secret},
                                                        {"otpauth_uri", auth::totp_uri(c.app.config.site_name, u->name, raw)}}; }());
  }
  if (c.endpoint.op == Op::totp_enable) {
    auto code = c.str("code");
    if (!code) co_return co_await c.fail(status::bad_request, "invalid_argument", "code is required");
    std::vector<std::string> codes;
    for (int i = 0; i < 10; ++i) codes.push_back(auth::hex(auth::base64url_decode(auth::random_token(6)).value()).substr(0, 10));
    bool ok = co_await c.app.db.tx([&](pqxx::work& w) {
      // The code that turns it on is used up too: it cannot sign in afterwards.
      if (!auth::use_totp_code(w, c.app.keys.master(), uid, *code, std::time(nullptr))) return false;
      w.exec_params("UPDATE users SET totp_enabled = true WHERE id = $1", uid);
      w.exec_params("DELETE FROM totp_recovery_codes WHERE user_id = $1", uid);
      for (const auto& rc : codes)
        w.exec_params("INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, $2)", uid, auth::sha256_hex(rc));
      return true;
    });
    if (!ok) co_return co_await c.fail(status::bad_request, "invalid_code", "the code does not match; run setup first and check the clock");
    json::array arr;
    for (const auto& rc : codes) arr.push_back(json::value(rc));
    co_return co_await c.reply(status::ok, [&] { return json::object{{"totp_enabled", true}, {"recovery_codes", arr}}; }());
  }
  if (!c.is_admin() || u->id == c.caller->id) {
    auto password = c.str("password");
    if (!password) co_return co_await c.fail(status::forbidden, "wrong_password", "confirm with your password");
    if (!co_await confirm_password(c, *u, *password)) co_return;
  }
  co_await c.app.db.tx([&](pqxx::work& w) {
    w.exec_params("UPDATE users SET totp_enabled = false WHERE id = $1", uid);
    auth::clear_totp_secret(w, uid);
    w.exec_params("DELETE FROM totp_recovery_codes WHERE user_id = $1", uid);
  });
  co_await c.reply(status::ok, [&] { return json::object{{"totp_enabled", false}}; }());
}

}  // namespace

asio::awaitable<void> creds_op(ApiContext& c) {
  switch (c.endpoint.op) {
    case Op::keys_list: case Op::keys_create: case Op::keys_revoke: co_return co_await keys(c);
    case Op::app_passwords_list: case Op::app_passwords_create: case Op::app_passwords_revoke: case Op::webdav_password:
      co_return co_await app_passwords(c);
    case Op::sessions_list: case Op::sessions_revoke: co_return co_await sessions(c);
    case Op::totp_setup: case Op::totp_enable: case Op::totp_disable: co_return co_await totp(c);
    default: co_return co_await c.fail(status::not_found, "not_found", "no such operation");
  }
}

}  // namespace depot::console
