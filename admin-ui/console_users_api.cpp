// The console's users table (server-side search, sort and paging that stay fast with 100,000
// accounts: trigram indexes for search, an index for every sort order), a user's buckets, the
// admin's "send password reset", and the billing events log with filters and the raw payload.
#include <boost/asio/this_coro.hpp>

#include "admin-ui/console_admin.hpp"
#include "auth/email_tokens.hpp"
#include "storage/db.hpp"

namespace depot::console {
namespace {

constexpr const char* kIsoFmt = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

std::string q(ApiContext& c, const char* key) {
  auto it = c.query.find(key);
  return it == c.query.end() ? std::string() : it->second;
}

std::int64_t q_int(ApiContext& c, const char* key, std::int64_t fallback) {
  auto it = c.query.find(key);
  if (it == c.query.end() || it->second.empty()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    return fallback;
  }
}

// %text% for ILIKE, with the pattern characters of the text taken literally.
std::string like_pattern(const std::string& text) {
  std::string out = "%";
  for (char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "%";
}

struct UserQuery {
  std::string search;  // empty: everyone
  std::string sort = "name";
  bool desc = false;
  int limit = 100;
  std::int64_t offset = 0;
  std::vector<std::string> after;  // keyset cursor: the sort key(s) of the last row of the previous page
};

constexpr std::size_t kExactCountCap = 10000;

// Search: a substring of the name or email through the trigram indexes (3+ characters); shorter
// text matches the start of the name or email (btree pattern indexes), since trigrams need 3.
std::string search_condition(pqxx::work& w, const std::string& text) {
  if (text.empty()) return "true";
  if (text.size() < 3) {
    std::string prefix;
    for (char ch : text) {
      if (ch == '%' || ch == '_' || ch == '\\') prefix += '\\';
      prefix += ch;
    }
    auto lit = w.quote(prefix + "%");
    return "(u.name LIKE " + lit + " OR lower(u.email) LIKE lower(" + lit + "))";
  }
  auto lit = w.quote(like_pattern(text));
  return "(u.name ILIKE " + lit + " OR u.email ILIKE " + lit + ")";
}

constexpr const char* kUserColumns =
    "u.id, u.name, u.email, u.status, u.is_admin, p.name, to_char(u.created_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), s.bytes_used, s.objects_used, u.email_verified, u.quota_bytes_override, "
    "COALESCE(u.quota_bytes_override, p.bytes_limit), lower(u.email), u.created_at::text, s.user_id";

// The page query for one sort order. Every order ends in a unique key, matches an index (see
// migration 401) and continues after the cursor with a row comparison, so a page costs the same
// at the start and at the end of 100,000 users.
// broad: the search matches many users (then the plan order walks each plan's users in name order
// rather than sorting every match).
std::string page_sql(pqxx::work& w, const UserQuery& uq, const std::string& cond, bool broad) {
  std::string d = uq.desc ? " DESC" : "";
  std::string gt = uq.desc ? " < " : " > ";
  const auto& a = uq.after;
  auto q = [&](std::size_t i) { return w.quote(a.at(i)); };
  std::string where = cond, order;
  std::string tail = " LIMIT " + std::to_string(uq.limit) + " OFFSET " + std::to_string(uq.offset);
  if (uq.sort == "plan" && (uq.search.empty() || broad)) {
    // Few plans: per plan, the users in name order from (plan_id, name), then merged.
    std::string inner = cond, outer = "true";
    if (a.size() == 2) {
      outer = "p.name" + std::string(uq.desc ? " <= " : " >= ") + q(0);
      inner += " AND (p.name <> " + q(0) + " OR u.name" + gt + q(1) + ")";
    }
    return "SELECT " + std::string(kUserColumns) + " FROM plans p CROSS JOIN LATERAL (SELECT * FROM users u WHERE u.plan_id = p.id AND " +
           inner + " ORDER BY u.name" + d + " LIMIT " + std::to_string(uq.limit + uq.offset) +
           ") u JOIN usage s ON s.user_id = u.id WHERE " + outer + " ORDER BY p.name" + d + ", u.name" + d + tail;
  }
  if (uq.sort == "email") {
    order = "lower(u.email)" + d;
    if (a.size() == 1) where += " AND lower(u.email)" + gt + q(0);
  } else if (uq.sort == "created") {
    order = "u.created_at" + d + ", u.name" + d;
    if (a.size() == 2) where += " AND (u.created_at, u.name)" + gt + "(" + q(0) + "::timestamptz, " + q(1) + ")";
  } else if (uq.sort == "used") {
    order = "s.bytes_used" + d + ", s.user_id" + d;
    if (a.size() == 2) where += " AND (s.bytes_used, s.user_id)" + gt + "(" + q(0) + "::bigint, " + q(1) + "::bigint)";
  } else if (uq.sort == "plan") {
    order = "p.name" + d + ", u.name" + d;
    if (a.size() == 2) where += " AND (p.name, u.name)" + gt + "(" + q(0) + ", " + q(1) + ")";
  } else {
    order = "u.name" + d;
    if (a.size() == 1) where += " AND u.name" + gt + q(0);
  }
  return "SELECT " + std::string(kUserColumns) +
         " FROM users u JOIN plans p ON p.id = u.plan_id JOIN usage s ON s.user_id = u.id WHERE " + where + " ORDER BY " +
         order + tail;
}

// The cursor of a row for the sort (the name alone for the name order, as before).
json::value cursor_of(const UserQuery& uq, const pqxx::row& r) {
  if (uq.sort == "email") return json::value(r[12].as<std::string>());
  if (uq.sort == "name") return json::value(r[1].as<std::string>());
  json::array pair;
  if (uq.sort == "created") pair = {json::value(r[13].as<std::string>()), json::value(r[1].as<std::string>())};
  else if (uq.sort == "used") pair = {json::value(std::to_string(r[7].as<std::int64_t>())), json::value(std::to_string(r[14].as<std::int64_t>()))};
  else pair = {json::value(r[5].as<std::string>()), json::value(r[1].as<std::string>())};
  return json::value(json::serialize(pair));
}

json::object list_users(pqxx::work& w, const UserQuery& uq) {
  std::string cond = search_condition(w, uq.search);
  // The total: exact up to 10,000 matches (cheap: it stops there); past that the planner's
  // estimate, flagged as such.
  auto capped = w.exec("SELECT count(*) FROM (SELECT 1 FROM users u WHERE " + cond + " LIMIT " +
                       std::to_string(kExactCountCap + 1) + ") x")[0][0].as<std::int64_t>();
  auto rows = w.exec(page_sql(w, uq, cond, capped > 2000));
  json::array items;
  for (const auto& r : rows) {
    json::object o{{"id", r[0].as<std::int64_t>()},        {"name", r[1].as<std::string>()},
                   {"email", r[2].as<std::string>()},      {"status", r[3].as<std::string>()},
                   {"is_admin", r[4].as<bool>()},          {"plan", r[5].as<std::string>()},
                   {"created", r[6].as<std::string>()},    {"bytes_used", r[7].as<std::int64_t>()},
                   {"objects_used", r[8].as<std::int64_t>()}, {"email_verified", r[9].as<bool>()},
                   {"bytes_limit", r[11].as<std::int64_t>()}};
    o["quota_bytes_override"] = r[10].is_null() ? json::value(nullptr) : json::value(r[10].as<std::int64_t>());
    items.push_back(std::move(o));
  }
  std::int64_t total = capped;
  bool exact = capped <= std::int64_t(kExactCountCap);
  if (!exact) {
    std::string plan_text;
    for (const auto& r : w.exec("EXPLAIN (FORMAT JSON) SELECT 1 FROM users u WHERE " + cond)) plan_text += r[0].as<std::string>();
    boost::system::error_code ec;
    auto v = json::parse(plan_text, ec);
    if (!ec && v.is_array() && !v.as_array().empty()) {
      auto rows_est = v.as_array()[0].as_object().at("Plan").as_object().at("Plan Rows");
      std::int64_t est = rows_est.is_int64() ? rows_est.as_int64() : rows_est.is_double() ? std::int64_t(rows_est.as_double()) : 0;
      total = std::max<std::int64_t>(capped, est);
    }
  }
  bool full = rows.size() == std::size_t(uq.limit);
  json::object page{{"items", std::move(items)}, {"total", total}, {"total_exact", exact}};
  // `next`: the cursor for ?after= (any sort); `next_offset` for ?offset= paging.
  page["next"] = full ? cursor_of(uq, rows[rows.size() - 1]) : json::value(nullptr);
  page["next_offset"] = full ? json::value(uq.offset + uq.limit) : json::value(nullptr);
  return page;
}

// ?after= for the sort: a name or lower-cased email, else a JSON array of two strings.
bool parse_cursor(UserQuery& uq, const std::string& text) {
  if (text.empty()) return true;
  if (uq.sort == "name" || uq.sort == "email") {
    uq.after = {text};
    return true;
  }
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array() || v.as_array().size() != 2) return false;
  for (const auto& e : v.as_array()) {
    if (!e.is_string()) return false;
    uq.after.emplace_back(e.as_string());
  }
  if (uq.sort == "used")
    for (const auto& e : uq.after)
      if (e.empty() || e.size() > 19 || e.find_first_not_of("0123456789") != std::string::npos) return false;
  if (uq.sort == "created" && uq.after[0].size() > 40) return false;
  return true;
}

asio::awaitable<void> users_list(ApiContext& c) {
  UserQuery uq;
  uq.search = q(c, "q");
  if (uq.search.size() > 200) co_return co_await c.fail(status::bad_request, "invalid_argument", "the search text is too long");
  auto sort = q(c, "sort");
  if (!sort.empty()) uq.sort = sort;
  if (uq.sort != "name" && uq.sort != "email" && uq.sort != "created" && uq.sort != "used" && uq.sort != "plan")
    co_return co_await c.fail(status::bad_request, "invalid_argument", "sort must be name, email, created, used or plan");
  auto order = q(c, "order");
  if (!order.empty() && order != "asc" && order != "desc")
    co_return co_await c.fail(status::bad_request, "invalid_argument", "order must be asc or desc");
  uq.desc = order == "desc";
  uq.limit = c.limit();
  uq.offset = std::clamp<std::int64_t>(q_int(c, "offset", 0), 0, 1000000);
  if (!parse_cursor(uq, q(c, "after")))
    co_return co_await c.fail(status::bad_request, "invalid_argument", "after must be the next cursor of the previous page");
  auto page = co_await c.app.db.tx([&](pqxx::work& w) { return list_users(w, uq); });
  co_await c.reply(status::ok, std::move(page));
}

asio::awaitable<void> user_buckets(ApiContext& c) {
  auto u = co_await c.app.users.find_by_name(c.param(0));
  if (!u) co_return co_await c.fail(status::not_found, "not_found", "no such user");
  auto uid = u->id;
  auto items = co_await c.app.db.tx([&](pqxx::work& w) {
    json::array out;
    for (const auto& r : w.exec_params(
             "SELECT b.name, b.region, to_char(b.created_at AT TIME ZONE 'UTC', " + std::string(kIsoFmt) +
                 "), count(o.key), COALESCE(sum(o.size), 0) FROM buckets b LEFT JOIN objects o ON o.bucket_id = b.id "
                 "WHERE b.owner_id = $1 GROUP BY b.id ORDER BY b.name",
             uid))
      out.push_back(json::object{{"name", r[0].as<std::string>()}, {"region", r[1].as<std::string>()},
                                 {"created", r[2].as<std::string>()}, {"objects", r[3].as<std::int64_t>()},
                                 {"bytes", r[4].as<std::int64_t>()}});
    return out;
  });
  json::object page{{"items", std::move(items)}, {"next", nullptr}};
  co_await c.reply(status::ok, std::move(page));
}

// The admin sends the user a password reset link (the same mail as "forgot password").
asio::awaitable<void> password_reset(ApiContext& c) {
  auto u = co_await c.app.users.find_by_name(c.param(0));
  if (!u) co_return co_await c.fail(status::not_found, "not_found", "no such user");
  if (u->status == "suspended")
    co_return co_await c.fail(status::conflict, "conflict", "the account is suspended: reactivate it first");
  storage::ConsoleStore store(c.app.db);
  auto site = co_await store.setting_or("site_name", c.app.config.site_name);
  auto base = c.svc.link(c.ex, "/ui/reset-password?token=");
  auto entry = audit_entry(c, json::object{{"sent_to", u->email}});
  auto user = *u;
  co_await c.app.db.tx([&](pqxx::work& w) {
    auto token = auth::issue_email_token(w, user.id, "reset", std::chrono::seconds(3600));
    auth::Mailer::enqueue(w, auth::render_mail(site, "reset", user.email, {{"name", user.name}, {"link", base + token}}));
    storage::ConsoleStore::audit(w, entry);
  });
  c.svc.mailer.kick(co_await asio::this_coro::executor);
  json::object o{{"sent_to", user.email}};
  co_await c.reply(status::accepted, std::move(o));
}

constexpr const char* kEventSelect =
    "SELECT e.id, e.type, e.created, e.effect, e.user_id, (extract(epoch FROM e.received_at) * 1000000)::bigint, "
    "to_char(e.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), u.name, "
    "CASE WHEN e.effect LIKE 'ignored%' THEN 'ignored' ELSE 'applied' END";

json::object event_json(const pqxx::row& r) {
  json::object o{{"id", r[0].as<std::string>()},     {"type", r[1].as<std::string>()},
                 {"created", r[2].as<std::int64_t>()}, {"effect", r[3].as<std::string>()},
                 {"received", r[6].as<std::string>()}, {"outcome", r[8].as<std::string>()}};
  o["user_id"] = r[4].is_null() ? json::value(nullptr) : json::value(r[4].as<std::int64_t>());
  o["user"] = r[7].is_null() ? json::value(nullptr) : json::value(r[7].as<std::string>());
  return o;
}

asio::awaitable<void> billing_events(ApiContext& c) {
  auto type = q(c, "type"), outcome = q(c, "outcome");
  if (!outcome.empty() && outcome != "applied" && outcome != "ignored")
    co_return co_await c.fail(status::bad_request, "invalid_argument", "outcome must be applied or ignored");
  std::int64_t before = q_int(c, "before", 0);
  int limit = c.limit();
  auto page = co_await c.app.db.tx([&](pqxx::work& w) {
    auto rows = w.exec_params(std::string(kEventSelect) +
                                  " FROM billing_events e LEFT JOIN users u ON u.id = e.user_id WHERE ($1::bigint = 0 OR e.received_at "
                                  "< to_timestamp($1 / 1000000.0)) AND ($2 = '' OR e.type = $2) AND ($3 = '' OR (e.effect "
                                  "LIKE 'ignored%') = ($3 = 'ignored')) ORDER BY e.received_at DESC LIMIT $4",
                              before, type, outcome, limit);
    json::array items;
    for (const auto& r : rows) items.push_back(event_json(r));
    json::object out{{"items", std::move(items)}};
    out["next"] = rows.size() == std::size_t(limit) ? json::value(rows[rows.size() - 1][5].as<std::int64_t>()) : json::value(nullptr);
    json::array types;
    for (const auto& r : w.exec("SELECT DISTINCT type FROM billing_events ORDER BY 1 LIMIT 100")) types.push_back(json::value(r[0].as<std::string>()));
    out["types"] = std::move(types);
    return out;
  });
  co_await c.reply(status::ok, std::move(page));
}

asio::awaitable<void> billing_event(ApiContext& c) {
  auto id = c.param(0);
  auto ev = co_await c.app.db.tx([&](pqxx::work& w) -> std::optional<json::object> {
    auto rows = w.exec_params(std::string(kEventSelect) +
                                  ", e.payload::text FROM billing_events e LEFT JOIN users u ON u.id = e.user_id WHERE e.id = $1",
                              id);
    if (rows.empty()) return std::nullopt;
    auto o = event_json(rows[0]);
    boost::system::error_code ec;
    auto payload = json::parse(rows[0][9].as<std::string>(), ec);
    o["payload"] = ec ? json::value(nullptr) : payload;
    return o;
  });
  if (!ev) co_return co_await c.fail(status::not_found, "not_found", "no such billing event");
  co_await c.reply(status::ok, std::move(*ev));
}

}  // namespace

asio::awaitable<void> console_users_op(ApiContext& c) {
  switch (c.endpoint.op) {
    case Op::users_list: co_return co_await users_list(c);
    case Op::user_buckets: co_return co_await user_buckets(c);
    case Op::user_password_reset: co_return co_await password_reset(c);
    case Op::billing_events: co_return co_await billing_events(c);
    case Op::billing_event_get: co_return co_await billing_event(c);
    default: co_return co_await c.fail(status::not_found, "not_found", "no such operation");
  }
}

}  // namespace depot::console
