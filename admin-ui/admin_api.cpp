// Administration: bans, invites, the outbox of sent mail; and the OpenAPI document.
#include "admin-ui/api_context.hpp"
#include "auth/tokens.hpp"
#include "storage/db.hpp"

namespace depot::console {
namespace {

asio::awaitable<void> bans(ApiContext& c) {
  if (c.endpoint.op == Op::bans_list) {
    json::array items;
    for (const auto& b : co_await c.svc.throttle.list_bans())
      items.push_back(json::object{{"scope", b.scope}, {"failures", b.failures}, {"banned_until", iso(b.banned_until)}});
    co_return co_await c.reply(status::ok, [&] { return json::object{{"items", items}, {"next", nullptr}}; }());
  }
  auto r = co_await c.svc.throttle.lift(c.param(0));
  if (!r) co_return co_await c.fail(r.error());
  co_await c.reply(status::no_content, nullptr);
}

asio::awaitable<void> invite(ApiContext& c) {
  auto email = c.str("email");
  auto days = c.integer("expires_in_days");
  if (!c.problem.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", c.problem);
  // Optional (an invite anyone may use); given, it is the address sign-up must use.
  if (email && !email->empty() && !auth::UserStore::valid_email(*email))
    co_return co_await c.fail(status::bad_request, "invalid_argument", "the email address is not valid");
  std::int64_t d = std::clamp<std::int64_t>(days.value_or(14), 1, 365);
  std::string code = auth::random_token(18);
  auto uid = c.caller->id;
  co_await c.app.db.tx([&](pqxx::work& w) {
    w.exec_params(
        "INSERT INTO invites (code_hash, email, created_by, expires_at) VALUES ($1, NULLIF($2, ''), $3, now() + "
        "make_interval(days => $4))",
        auth::sha256_hex(code), email.value_or(""), uid, int(d));
  });
  json::object o{{"code", code}, {"expires_in_days", d}};
  o["email"] = email ? json::value(*email) : json::value(nullptr);
  co_await c.reply(status::created, o);
}

asio::awaitable<void> mail(ApiContext& c) {
  std::int64_t before = 0;
  if (auto it = c.query.find("before"); it != c.query.end()) {
    try {
      before = std::stoll(it->second);
    } catch (const std::exception&) {
    }
  }
  int limit = c.limit();
  auto rows = co_await c.svc.mailer.list(before, limit);
  json::array items;
  for (const auto& m : rows) {
    json::object o{{"id", m.id}, {"to", m.to}, {"subject", m.subject}, {"attempts", m.attempts}, {"created", m.created}};
    o["sent"] = m.sent.empty() ? json::value(nullptr) : json::value(m.sent);
    o["next_attempt"] = m.sent.empty() ? json::value(m.next_attempt) : json::value(nullptr);
    o["last_error"] = m.last_error.empty() ? json::value(nullptr) : json::value(m.last_error);
    items.push_back(o);
  }
  json::value next = rows.size() == std::size_t(limit) ? json::value(rows.back().id) : json::value(nullptr);
  json::object page{{"items", items}, {"next", next}};
  co_await c.reply(status::ok, std::move(page));
}

// OpenAPI 3.0 from the route table, so the document and the router cannot disagree.
json::object openapi_document() {
  json::object paths;
  for (const auto& r : routes()) {
    std::string method(http::bhttp::to_string(r.method));
    for (auto& ch : method) ch = char(std::tolower(ch));
    json::object op{{"operationId", r.name}, {"summary", r.summary}};
    json::array params;
    std::string_view p = r.pattern;
    for (std::size_t i = p.find('{'); i != std::string_view::npos; i = p.find('{', i + 1)) {
      auto j = p.find('}', i);
      params.push_back(json::object{{"name", std::string(p.substr(i + 1, j - i - 1))},
                                    {"in", "path"},
                                    {"required", true},
                                    {"schema", {{"type", "string"}}}});
    }
    if (!params.empty()) op["parameters"] = params;
    if (r.access == Access::anyone) op["security"] = json::array();
    if (r.access == Access::admin) op["x-depot-role"] = "admin";
    json::object responses{{"default", {{"description", "error"},
                                        {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
    responses["2XX"] = json::object{{"description", "success"}};
    op["responses"] = responses;
    auto& entry = paths[std::string("/api/v1") + r.pattern];
    if (!entry.is_object()) entry = json::object();
    entry.as_object()[method] = op;
  }
  json::object error_schema{
      {"type", "object"},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"properties", {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}}},
          {"required", json::array{"code", "message"}}}}}}};
  return json::object{
      {"openapi", "3.0.3"},
      {"info", {{"title", "depot console API"}, {"version", "1"}}},
      {"paths", paths},
      {"components",
       {{"schemas", {{"Error", error_schema}}},
        {"securitySchemes",
         {{"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "depot_session"}}},
          {"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}}}},
      {"security", json::array{json::object{{"session", json::array()}}, json::object{{"bearer", json::array()}}}}};
}

}  // namespace

asio::awaitable<void> admin_op(ApiContext& c) {
  switch (c.endpoint.op) {
    case Op::bans_list: case Op::bans_lift: co_return co_await bans(c);
    case Op::invites_create: co_return co_await invite(c);
    case Op::mail_list: co_return co_await mail(c);
    case Op::openapi: co_return co_await c.reply(status::ok, openapi_document());
    default: co_return co_await c.fail(status::not_found, "not_found", "no such operation");
  }
}

}  // namespace depot::console
