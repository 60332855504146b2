#include "storage/billing_store.hpp"

#include "storage/db.hpp"
#include "storage/object_rows.hpp"

namespace depot::storage {
namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  auto v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string fmt_bytes(std::int64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, v == double(std::int64_t(v)) ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// The price id of a subscription object (items.data[0].price.id, or the older plan.id).
std::string price_of(const json::object& sub) {
  if (auto items = sub.if_contains("items"); items && items->is_object())
    if (auto data = items->as_object().if_contains("data"); data && data->is_array() && !data->as_array().empty())
      if (auto first = data->as_array()[0].if_object())
        if (auto price = first->if_contains("price"); price && price->is_object()) return str(price->as_object(), "id");
  if (auto plan = sub.if_contains("plan"); plan && plan->is_object()) return str(plan->as_object(), "id");
  return {};
}

std::optional<UserId> user_by_customer(pqxx::work& w, const std::string& customer) {
  if (customer.empty()) return std::nullopt;
  auto r = w.exec_params("SELECT id FROM users WHERE stripe_customer_id = $1", customer);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<UserId>();
}

// Locks the subscription row; returns false when an event newer than `created` was applied.
bool subscription_is_current(pqxx::work& w, const std::string& sub, std::int64_t created) {
  w.exec_params("INSERT INTO subscriptions (id) VALUES ($1) ON CONFLICT DO NOTHING", sub);
  auto r = w.exec_params("SELECT last_event_created FROM subscriptions WHERE id = $1 FOR UPDATE", sub);
  return r[0][0].as<std::int64_t>() <= created;
}

// Invoice events arrive out of order too: a late failure must not start a grace period after a
// newer payment, nor a late payment end one started by a newer failure. On a tie the payment
// wins (a retried charge that succeeded).
bool payment_event_after(pqxx::work& w, UserId user, const char* type, std::int64_t created, bool or_same_time) {
  std::string types = std::string(type) == "invoice.paid" ? "{invoice.paid,invoice.payment_succeeded}" : "{" + std::string(type) + "}";
  auto r = w.exec_params(
      std::string("SELECT 1 FROM billing_events WHERE user_id = $1 AND type = ANY($2::text[]) AND created ") +
          (or_same_time ? ">=" : ">") + " $3 AND effect NOT LIKE 'ignored%' LIMIT 1",
      user, types, created);
  return !r.empty();
}

}  // namespace

bool BillingStore::change_plan(pqxx::work& w, UserId user, const std::string& plan, const NoticeSink& notify) {
  auto p = w.exec_params("SELECT id, bytes_limit FROM plans WHERE name = $1", plan);
  if (p.empty()) return false;
  auto cur = w.exec_params("SELECT p.name FROM users u JOIN plans p ON p.id = u.plan_id WHERE u.id = $1 FOR UPDATE OF u", user);
  if (cur.empty()) return false;
  if (cur[0][0].as<std::string>() == plan) return true;
  w.exec_params("UPDATE users SET plan_id = $2 WHERE id = $1", user, p[0][0].as<std::int64_t>());
  auto lim = w.exec_params(
      "SELECT us.bytes_used, COALESCE(u.quota_bytes_override, p.bytes_limit) FROM usage us JOIN users u ON u.id = "
      "us.user_id JOIN plans p ON p.id = u.plan_id WHERE us.user_id = $1",
      user);
  std::string limit_text = lim.empty() ? fmt_bytes(p[0][1].as<std::int64_t>()) : fmt_bytes(lim[0][1].as<std::int64_t>());
  notify(w, {user, "plan_changed", "Your plan is now " + plan + ", with " + limit_text + " of storage."});
  if (!lim.empty() && lim[0][0].as<std::int64_t>() > lim[0][1].as<std::int64_t>())
    notify(w, {user, "over_quota",
               "You use " + fmt_bytes(lim[0][0].as<std::int64_t>()) + " but your plan " + plan + " allows " + limit_text + "."});
  return true;
}

boost::asio::awaitable<Result<EventOutcome>> BillingStore::apply(json::object ev, NoticeSink notify) {
  std::string id = str(ev, "id"), type = str(ev, "type");
  auto created_v = ev.if_contains("created");
  if (id.empty() || type.empty() || !created_v || !created_v->is_int64())
    co_return make_error(Errc::invalid_argument, "the event has no id, type or created");
  std::int64_t created = created_v->as_int64();
  json::object obj;
  if (auto d = ev.if_contains("data"); d && d->is_object())
    if (auto o = d->as_object().if_contains("object"); o && o->is_object()) obj = o->as_object();
  std::string payload = json::serialize(ev);
  auto grace = double(grace_.count());

  co_return co_await db_.tx([&](pqxx::work& w) -> Result<EventOutcome> {
    auto ins = w.exec_params(
        "INSERT INTO billing_events (id, type, created, payload) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (id) DO NOTHING "
        "RETURNING id",
        id, type, created, payload);
    if (ins.empty()) return EventOutcome{true, "replay: already applied"};
    std::optional<UserId> user;
    std::string effect;

    if (type == "checkout.session.completed" || type == "checkout.session.async_payment_succeeded") {
      std::string ref = str(obj, "client_reference_id"), customer = str(obj, "customer"), sub = str(obj, "subscription");
      // A session paid by a delayed method completes unpaid; its async_payment_succeeded event
      // (paid) brings the plan. (No payment_status: an older API version; taken as paid.)
      std::string payment = str(obj, "payment_status");
      bool paid = payment.empty() || payment == "paid" || payment == "no_payment_required";
      std::string plan;
      if (auto md = obj.if_contains("metadata"); md && md->is_object()) plan = str(md->as_object(), "plan");
      try {
        auto u = w.exec_params("SELECT id FROM users WHERE id = $1", std::stoll(ref));
        if (!u.empty()) user = u[0][0].as<UserId>();
      } catch (const std::exception&) {
      }
      if (!user) {
        effect = "ignored: no user " + ref;
      } else {
        if (!customer.empty()) {
          // One account per customer (migration 404): a checkout of the same customer for another
          // account moves the link to it.
          w.exec_params("UPDATE users SET stripe_customer_id = NULL WHERE stripe_customer_id = $2 AND id <> $1", *user,
                        customer);
          w.exec_params("UPDATE users SET stripe_customer_id = $2 WHERE id = $1", *user, customer);
        }
      }
      if (user && !paid) {
        effect = "customer remembered; plan unchanged until the payment succeeds (payment_status " + payment + ")";
      } else if (user) {
        bool current = sub.empty() || subscription_is_current(w, sub, created);
        if (!sub.empty() && current)
          w.exec_params(
              "UPDATE subscriptions SET user_id = $2, customer_id = NULLIF($3, ''), status = 'active', plan = $4, "
              "last_event_created = $5, updated_at = now() WHERE id = $1",
              sub, *user, customer, plan, created);
        if (!current) effect = "customer remembered; plan unchanged: a newer subscription event was applied";
        else if (change_plan(w, *user, plan, notify)) effect = "plan " + plan;
        else effect = "ignored: no plan " + plan;
      }
    } else if (type.starts_with("customer.subscription.")) {
      std::string sub = str(obj, "id"), customer = str(obj, "customer"), status = str(obj, "status");
      auto known = w.exec_params("SELECT user_id FROM subscriptions WHERE id = $1 AND user_id IS NOT NULL", sub);
      if (!known.empty()) user = known[0][0].as<UserId>();
      else user = user_by_customer(w, customer);
      if (sub.empty()) {
        effect = "ignored: no subscription id";
      } else if (!subscription_is_current(w, sub, created)) {
        effect = "ignored: older than the last event applied to " + sub;
      } else {
        std::string plan;
        bool deleted = type == "customer.subscription.deleted";
        if (deleted || status == "canceled" || status == "unpaid" || status == "incomplete_expired") {
          plan = "free";
        } else if (status == "active" || status == "trialing") {
          auto p = w.exec_params("SELECT name FROM plans WHERE price_id = $1", price_of(obj));
          if (!p.empty()) plan = p[0][0].as<std::string>();
        }
        w.exec_params(
            "UPDATE subscriptions SET user_id = COALESCE(user_id, NULLIF($2, 0)), customer_id = COALESCE(NULLIF($3, ''), customer_id), "
            "status = $4, plan = COALESCE(NULLIF($5, ''), plan), last_event_created = $6, updated_at = now() WHERE id = $1",
            sub, user.value_or(0), customer, deleted ? std::string("canceled") : status, plan, created);
        if (!user) effect = "recorded: no user for this subscription yet";
        else if (plan.empty()) effect = "status " + status + "; plan unchanged";
        else {
          change_plan(w, *user, plan, notify);
          if (plan == "free") w.exec_params("UPDATE users SET payment_grace_until = NULL WHERE id = $1", *user);
          effect = "status " + (deleted ? std::string("canceled") : status) + "; plan " + plan;
        }
      }
    } else if (type == "invoice.paid" || type == "invoice.payment_succeeded") {
      user = user_by_customer(w, str(obj, "customer"));
      if (user && payment_event_after(w, *user, "invoice.payment_failed", created, false)) {
        effect = "ignored: a newer payment failure was applied";
      } else if (user) {
        w.exec_params("UPDATE users SET payment_grace_until = NULL WHERE id = $1", *user);
        effect = "paid; grace period cleared";
      } else {
        effect = "ignored: unknown customer";
      }
    } else if (type == "invoice.payment_failed") {
      user = user_by_customer(w, str(obj, "customer"));
      if (user && payment_event_after(w, *user, "invoice.paid", created, true)) {
        effect = "ignored: a newer payment was applied";
      } else if (user) {
        auto g = w.exec_params(
            "UPDATE users SET payment_grace_until = COALESCE(payment_grace_until, now() + make_interval(secs => $2)) WHERE "
            "id = $1 RETURNING to_char(payment_grace_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')",
            *user, grace);
        notify(w, {*user, "payment_failed",
                   "We could not charge your payment method. Your plan stays as it is until " +
                       g[0][0].as<std::string>() + " UTC; after that the account moves to the free plan."});
        effect = "payment failed; grace period until " + g[0][0].as<std::string>();
      } else {
        effect = "ignored: unknown customer";
      }
    } else {
      effect = "ignored: event type not handled";
    }
    w.exec_params("UPDATE billing_events SET effect = $2, user_id = NULLIF($3, 0) WHERE id = $1", id, effect, user.value_or(0));
    return EventOutcome{false, effect};
  });
}

boost::asio::awaitable<std::vector<BillingEvent>> BillingStore::events(UserId user, std::int64_t before, int limit) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    std::vector<BillingEvent> out;
    auto rows = w.exec_params(
        "SELECT id, type, created, user_id, effect, (extract(epoch from received_at) * 1000000)::bigint FROM billing_events "
        "WHERE ($1::bigint = 0 OR user_id = $1) AND ($2::bigint = 0 OR received_at < to_timestamp($2 / 1000000.0)) "
        "ORDER BY received_at DESC LIMIT $3",
        user, before, limit);
    for (const auto& r : rows) {
      BillingEvent e;
      e.id = r[0].as<std::string>();
      e.type = r[1].as<std::string>();
      e.created = r[2].as<std::int64_t>();
      if (!r[3].is_null()) e.user = r[3].as<UserId>();
      e.effect = r[4].as<std::string>();
      e.received = from_micros(r[5].as<std::int64_t>());
      out.push_back(e);
    }
    return out;
  });
}

boost::asio::awaitable<int> BillingStore::expire_grace(NoticeSink notify) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    int n = 0;
    for (const auto& r : w.exec("SELECT id FROM users WHERE payment_grace_until < now() FOR UPDATE")) {
      auto id = r[0].as<UserId>();
      w.exec_params("UPDATE users SET payment_grace_until = NULL WHERE id = $1", id);
      change_plan(w, id, "free", notify);
      ++n;
    }
    return n;
  });
}

boost::asio::awaitable<std::string> BillingStore::customer_of(UserId user) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    auto r = w.exec_params("SELECT COALESCE(stripe_customer_id, '') FROM users WHERE id = $1", user);
    return r.empty() ? std::string() : r[0][0].as<std::string>();
  });
}

}  // namespace depot::storage
