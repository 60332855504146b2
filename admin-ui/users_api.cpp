// Accounts: list and create (admin), read, change, delete, password, usage, suspend/reactivate.
#include "admin-ui/api_context.hpp"
#include "storage/db.hpp"
#include "storage/quota.hpp"

namespace depot::console {

asio::awaitable<void> send_email_change(ApiContext& c, const auth::User& u, const std::string& new_email);

namespace {

json::value usage_json(const storage::Usage& u) {
  json::object o{{"bytes_used", u.bytes_used},
                 {"objects_used", u.objects_used},
                 {"bytes_reserved", u.bytes_reserved},
                 {"bytes_limit", u.bytes_limit},
                 {"read_only", u.over_limit()}};
  o["objects_limit"] = u.objects_limit ? json::value(*u.objects_limit) : json::value(nullptr);
  return o;
}

asio::awaitable<std::optional<auth::User>> target(ApiContext& c) {
  auto u = co_await c.app.users.find_by_name(c.param(0));
  if (!u) {
    co_await c.fail(status::not_found, "not_found", "no such user");
    co_return std::nullopt;
  }
  co_return *u;
}

asio::awaitable<void> list(ApiContext& c) {
  std::string after = c.query.count("after") ? c.query["after"] : std::string();
  int limit = c.limit();
  auto users = co_await c.app.users.list(after, limit);
  json::array items;
  for (const auto& u : users) items.push_back(user_json(u));
  json::value next = users.size() == std::size_t(limit) ? json::value(users.back().name) : json::value(nullptr);
  co_await c.reply(status::ok, [&] { return json::object{{"items", items}, {"next", next}}; }());
}

asio::awaitable<void> create(ApiContext& c) {
  auth::NewUser nu;
  auto name = c.str("name"), email = c.str("email"), password = c.str("password"), plan = c.str("plan");
  auto admin = c.boolean("is_admin");
  if (!c.problem.empty() || !name || !email || !password)
    co_return co_await c.fail_invalid("name, email and password are required");
  nu.name = *name;
  nu.email = *email;
  nu.password = *password;
  nu.is_admin = admin.value_or(false);
  nu.plan = plan.value_or("free");
  auto u = co_await c.app.users.create(nu);
  if (!u) co_return co_await c.fail(u.error());
  co_await c.reply(status::created, user_json(*u));
}

asio::awaitable<void> get(ApiContext& c) {
  auto u = co_await target(c);
  if (!u) co_return;
  auto o = user_json(*u);
  if (auto usage = co_await c.app.quota.usage(u->id)) o["usage"] = usage_json(*usage);
  co_await c.reply(status::ok, o);
}

asio::awaitable<void> update(ApiContext& c) {
  auto u = co_await target(c);
  if (!u) co_return;
  auto email = c.str("email"), plan = c.str("plan"), st = c.str("status");
  auto admin = c.boolean("is_admin");
  bool quota = c.body.contains("quota_bytes_override") || c.body.contains("quota_objects_override");
  auto qb = c.integer("quota_bytes_override"), qo = c.integer("quota_objects_override");
  if (!c.problem.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", c.problem);
  if (!c.is_admin()) {
    if (plan || st || admin || quota)
      co_return co_await c.fail(status::forbidden, "forbidden",
                                "only an administrator changes plans, status, quotas or roles; upgrade through billing");
    if (!email) co_return co_await c.fail(status::bad_request, "invalid_argument", "nothing to change");
    if (!auth::UserStore::valid_email(*email))
      co_return co_await c.fail(status::bad_request, "invalid_argument", "the email address is not valid");
    auto other = co_await c.app.users.find_by_email(*email);
    if (other && other->id != u->id) co_return co_await c.fail(status::conflict, "already_exists", "this email address is already in use");
    // The address is where password resets go: a session alone (a stolen one) may not move it.
    auto password = c.str("password");
    if (!password) co_return co_await c.fail(status::bad_request, "invalid_argument", "confirm with your password");
    if (!co_await confirm_password(c, *u, *password)) co_return;
    // The new address takes effect once its owner follows the link sent to it.
    co_await send_email_change(c, *u, *email);
    co_return co_await c.reply(status::accepted, [&] { return json::object{{"user", user_json(*u)}, {"email_change_pending", *email}}; }());
  }
  // Every field is checked before any is applied: a refusal changes nothing (and an answer
  // other than 2xx writes no audit row, so a half-applied change would go unrecorded).
  if (email) {
    if (!auth::UserStore::valid_email(*email))
      co_return co_await c.fail(status::bad_request, "invalid_argument", "the email address is not valid");
    auto other = co_await c.app.users.find_by_email(*email);
    if (other && other->id != u->id) co_return co_await c.fail(status::conflict, "already_exists", "this email address is already in use");
  }
  if (plan) {
    auto name = *plan;
    bool exists = co_await c.app.db.tx(
        [&](pqxx::work& w) { return !w.exec_params("SELECT 1 FROM plans WHERE name = $1", name).empty(); });
    if (!exists) co_return co_await c.fail(status::not_found, "not_found", "there is no plan named '" + *plan + "'");
  }
  if (st && *st != "active" && *st != "suspended" && *st != "pending")
    co_return co_await c.fail(status::bad_request, "invalid_argument", "status is active, suspended or pending");
  if (quota && ((qb && *qb < 0) || (qo && *qo < 0)))
    co_return co_await c.fail(status::bad_request, "invalid_argument", "quota overrides cannot be negative");
  if (admin && !*admin && u->id == c.caller->id)
    co_return co_await c.fail(status::conflict, "conflict", "administrators cannot remove their own administrator role");
  if (email)
    if (auto r = co_await c.app.users.set_email(u->id, *email, true); !r) co_return co_await c.fail(r.error());
  if (plan) {
    auto uid = u->id;
    bool ok = co_await c.app.db.tx([&](pqxx::work& w) {
      return storage::BillingStore::change_plan(w, uid, *plan, c.svc.notice_sink());
    });
    if (!ok) co_return co_await c.fail(status::not_found, "not_found", "there is no plan named '" + *plan + "'");
    c.svc.mailer.kick(co_await asio::this_coro::executor);
  }
  if (st) {
    if (auto r = co_await c.app.users.set_status(u->id, *st); !r) co_return co_await c.fail(r.error());
    if (*st == "suspended") co_await c.svc.sessions.remove_all(u->id);
  }
  if (admin)
    if (auto r = co_await c.app.users.set_admin(u->id, *admin); !r) co_return co_await c.fail(r.error());
  if (quota) {
    auto cur_b = c.body.contains("quota_bytes_override") ? qb : u->quota_bytes_override;
    auto cur_o = c.body.contains("quota_objects_override") ? qo : u->quota_objects_override;
    if (auto r = co_await c.app.users.set_quota_override(u->id, cur_b, cur_o); !r) co_return co_await c.fail(r.error());
  }
  auto fresh = co_await c.app.users.find_by_id(u->id);
  if (!fresh) co_return co_await c.fail(fresh.error());
  co_await c.reply(status::ok, user_json(*fresh));
}

asio::awaitable<void> remove(ApiContext& c) {
  auto u = co_await target(c);
  if (!u) co_return;
  if (!c.is_admin()) {
    auto password = c.str("password");
    if (!password) co_return co_await c.fail(status::bad_request, "invalid_argument", "confirm with your password");
    if (!co_await confirm_password(c, *u, *password)) co_return;
  } else if (u->id == c.caller->id) {
    co_return co_await c.fail(status::conflict, "conflict", "administrators cannot delete their own account here");
  }
  co_await c.svc.sessions.remove_all(u->id);
  if (auto r = co_await c.app.users.remove(u->id); !r) co_return co_await c.fail(r.error());
  co_await c.reply(status::no_content, nullptr);
}

asio::awaitable<void> password(ApiContext& c) {
  auto u = co_await target(c);
  if (!u) co_return;
  auto current = c.str("current_password"), next = c.str("new_password");
  if (!c.problem.empty() || !next)
    co_return co_await c.fail_invalid("new_password is required");
  if (!c.is_admin() || u->id == c.caller->id) {
    if (!current) co_return co_await c.fail(status::bad_request, "invalid_argument", "current_password is required");
    if (!co_await confirm_password(c, *u, *current)) co_return;
  }
  if (auto r = co_await c.app.users.set_password(u->id, *next); !r) co_return co_await c.fail(r.error());
  // Every other session of the account ends.
  auto uid = u->id;
  std::int64_t keep = c.session && u->id == c.caller->id ? c.session->id : 0;
  co_await c.app.db.tx([&](pqxx::work& w) {
    w.exec_params("DELETE FROM sessions WHERE user_id = $1 AND id <> $2", uid, keep);
    w.exec_params("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", uid);
  });
  co_await c.reply(status::no_content, nullptr);
}

asio::awaitable<void> usage(ApiContext& c) {
  auto u = co_await target(c);
  if (!u) co_return;
  auto usage = co_await c.app.quota.usage(u->id);
  if (!usage) co_return co_await c.fail(usage.error());
  co_await c.reply(status::ok, usage_json(*usage));
}

asio::awaitable<void> suspend(ApiContext& c, bool on) {
  auto u = co_await target(c);
  if (!u) co_return;
  if (on && u->id == c.caller->id) co_return co_await c.fail(status::conflict, "conflict", "you cannot suspend yourself");
  std::string st = on ? "suspended" : (u->email_verified || !c.app.config.require_email_verification ? "active" : "pending");
  if (auto r = co_await c.app.users.set_status(u->id, st); !r) co_return co_await c.fail(r.error());
  if (on) co_await c.svc.sessions.remove_all(u->id);
  auto fresh = co_await c.app.users.find_by_id(u->id);
  if (!fresh) co_return co_await c.fail(fresh.error());
  co_await c.reply(status::ok, user_json(*fresh));
}

}  // namespace

asio::awaitable<void> users_op(ApiContext& c) {
  switch (c.endpoint.op) {
    case Op::users_list: co_return co_await list(c);
    case Op::users_create: co_return co_await create(c);
    case Op::user_get: co_return co_await get(c);
    case Op::user_update: co_return co_await update(c);
    case Op::user_delete: co_return co_await remove(c);
    case Op::user_password: co_return co_await password(c);
    case Op::user_usage: co_return co_await usage(c);
    case Op::user_suspend: co_return co_await suspend(c, true);
    case Op::user_reactivate: co_return co_await suspend(c, false);
    default: co_return co_await c.fail(status::not_found, "not_found", "no such operation");
  }
}

}  // namespace depot::console
