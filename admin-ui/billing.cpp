// Billing: the upgrade (a Checkout Session at the provider), the customer portal, the signed
// webhook, and the events for the console.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "admin-ui/api_context.hpp"
#include "admin-ui/stripe.hpp"

namespace depot::console {
namespace {

constexpr std::size_t kMaxWebhookBody = 1024 * 1024;

// Blocking provider calls run on the blocking pool, never on an I/O thread.
asio::awaitable<Result<json::object>> provider_post(ApiContext& c, std::string path,
                                                   std::vector<std::pair<std::string, std::string>> fields) {
  const auto& cfg = c.app.config;
  if (cfg.stripe_secret_key.empty()) co_return make_error(Errc::unavailable, "billing is not configured on this server");
  co_return co_await asio::co_spawn(
      c.app.blocking,
      [&]() -> asio::awaitable<Result<json::object>> {
        co_return stripe_post(cfg.stripe_api_base, cfg.stripe_secret_key, path, fields);
      },
      asio::use_awaitable);
}

// (Built outside the coroutines: GCC 12 mishandles braced lists of string literals in them.)
std::vector<std::pair<std::string, std::string>> checkout_fields(ApiContext& c, const storage::Plan& plan,
                                                                 const std::string& customer) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"mode", "subscription"},
      {"line_items[0][price]", plan.price_id},
      {"line_items[0][quantity]", "1"},
      {"client_reference_id", std::to_string(c.caller->id)},
      {"metadata[plan]", plan.name},
      {"subscription_data[metadata][plan]", plan.name},
      {"success_url", c.svc.link(c.ex, "/ui/billing?checkout=success")},
      {"cancel_url", c.svc.link(c.ex, "/ui/billing?checkout=cancel")},
  };
  if (!customer.empty()) fields.emplace_back("customer", customer);
  else fields.emplace_back("customer_email", c.caller->email);
  return fields;
}

std::vector<std::pair<std::string, std::string>> portal_fields(ApiContext& c, const std::string& customer) {
  return {{"customer", customer}, {"return_url", c.svc.link(c.ex, "/ui/billing")}};
}

asio::awaitable<void> checkout(ApiContext& c) {
  auto plan_name = c.str("plan");
  if (!plan_name) co_return co_await c.fail(status::bad_request, "invalid_argument", "plan is required");
  auto plan = co_await c.svc.plans.find(*plan_name);
  if (!plan || (!plan->is_public && !c.is_admin())) co_return co_await c.fail(status::not_found, "not_found", "no such plan");
  if (plan->price_id.empty())
    co_return co_await c.fail(status::bad_request, "not_for_sale", "this plan cannot be bought online");
  if (plan->name == c.caller->plan) co_return co_await c.fail(status::conflict, "conflict", "you are already on this plan");
  auto customer = co_await c.svc.billing.customer_of(c.caller->id);
  auto fields = checkout_fields(c, *plan, customer);
  auto r = co_await provider_post(c, "/v1/checkout/sessions", fields);
  if (!r) co_return co_await c.fail(status::bad_gateway, "billing_unavailable", r.error().message);
  auto url = r->if_contains("url");
  if (!url || !url->is_string()) co_return co_await c.fail(status::bad_gateway, "billing_unavailable", "the provider sent no URL");
  json::object o{{"url", *url}};
  if (auto id = r->if_contains("id")) o["id"] = *id;
  co_await c.reply(status::ok, o);
}

asio::awaitable<void> portal(ApiContext& c) {
  auto customer = co_await c.svc.billing.customer_of(c.caller->id);
  if (customer.empty()) co_return co_await c.fail(status::conflict, "no_subscription", "you have no subscription to manage");
  auto r = co_await provider_post(c, "/v1/billing_portal/sessions", portal_fields(c, customer));
  if (!r) co_return co_await c.fail(status::bad_gateway, "billing_unavailable", r.error().message);
  auto url = r->if_contains("url");
  if (!url || !url->is_string()) co_return co_await c.fail(status::bad_gateway, "billing_unavailable", "the provider sent no URL");
  co_await c.reply(status::ok, [&] { return json::object{{"url", *url}}; }());
}

asio::awaitable<void> events(ApiContext& c, storage::UserId user) {
  std::int64_t before = 0;
  if (auto it = c.query.find("before"); it != c.query.end()) {
    try {
      before = std::stoll(it->second);
    } catch (const std::exception&) {
    }
  }
  int limit = c.limit();
  auto evs = co_await c.svc.billing.events(user, before, limit);
  json::array items;
  for (const auto& e : evs) {
    json::object o{{"id", e.id}, {"type", e.type}, {"created", e.created}, {"effect", e.effect}, {"received", iso(e.received)}};
    o["user_id"] = e.user ? json::value(*e.user) : json::value(nullptr);
    items.push_back(o);
  }
  json::value next = nullptr;
  if (evs.size() == std::size_t(limit)) next = evs.back().received.time_since_epoch().count();
  co_await c.reply(status::ok, [&] { return json::object{{"items", items}, {"next", next}}; }());
}

}  // namespace

asio::awaitable<void> billing_op(ApiContext& c) {
  switch (c.endpoint.op) {
    case Op::billing_checkout: co_return co_await checkout(c);
    case Op::billing_portal: co_return co_await portal(c);
    case Op::billing_events: co_return co_await events(c, 0);
    case Op::user_billing_events: {
      auto u = co_await c.app.users.find_by_name(c.param(0));
      if (!u) co_return co_await c.fail(status::not_found, "not_found", "no such user");
      co_return co_await events(c, u->id);
    }
    default: co_return co_await c.fail(status::not_found, "not_found", "no such operation");
  }
}

// The signature is checked on the raw bytes before anything is parsed; any failure is a 400
// with no effect. The event is then applied once (see BillingStore).
asio::awaitable<void> stripe_webhook(ApiContext& c) {
  std::string raw;
  char buf[16384];
  for (;;) {
    auto n = co_await c.ex.read_body(buf, sizeof buf);
    if (n == 0) break;
    raw.append(buf, n);
    if (raw.size() > kMaxWebhookBody) co_return co_await c.fail(status::payload_too_large, "too_large", "the event is too large");
  }
  std::string secrets = c.app.config.stripe_webhook_secret;
  if (secrets.empty())
    if (const char* env = std::getenv("DEPOT_STRIPE_WEBHOOK_SECRET")) secrets = env;
  auto ok = verify_stripe_signature(c.ex.header("Stripe-Signature"), raw, split_secrets(secrets), std::time(nullptr));
  if (!ok) {
    spdlog::warn("billing webhook refused from {}: {}", c.ex.info().remote_addr, ok.error().message);
    co_return co_await c.fail(status::bad_request, "invalid_signature", ok.error().message);
  }
  boost::system::error_code ec;
  auto v = json::parse(raw, ec);
  if (ec || !v.is_object()) co_return co_await c.fail(status::bad_request, "invalid_json", "the event is not a JSON object");
  if (json_has_nul(v)) co_return co_await c.fail(status::bad_request, "invalid_json", "the event holds a NUL (\\u0000)");
  auto r = co_await c.svc.billing.apply(std::move(v.as_object()), c.svc.notice_sink());
  if (!r) co_return co_await c.fail(r.error());
  c.svc.mailer.kick(co_await asio::this_coro::executor);
  co_await c.reply(status::ok, [&] { return json::object{{"received", true}, {"replay", r->replay}, {"effect", r->effect}}; }());
}

}  // namespace depot::console
