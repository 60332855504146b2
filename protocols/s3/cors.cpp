#include "protocols/s3/cors.hpp"

#include <algorithm>


#include "protocols/s3/body.hpp"
#include "protocols/s3/xml.hpp"
#include "src/utf8.hpp"
#include "storage/engine.hpp"
#include "storage/s3_config_store.hpp"

namespace depot::s3 {
namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return o;
}

// S3 allows one '*' wildcard in origins and headers.
bool wildcard_match(std::string_view pattern, std::string_view s) {
  auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == s;
  auto pre = pattern.substr(0, star), post = pattern.substr(star + 1);
  return s.size() >= pre.size() + post.size() && s.starts_with(pre) && s.ends_with(post);
}

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    auto comma = v.find(',');
    auto t = v.substr(0, comma);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (!t.empty()) out.push_back(lower(t));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}


}  // namespace

std::variant<std::vector<CorsRule>, S3Error> parse_cors(const std::string& xml) {
  auto doc = parse_xml(xml, "CORSConfiguration");
  if (!doc) return malformed_xml();
  std::vector<CorsRule> rules;
  for (auto r : doc->document_element().children()) {
    if (r.type() != pugi::node_element) continue;
    if (std::string_view rn = r.name(); rn.substr(rn.find(':') + 1) != "CORSRule") return malformed_xml();
    CorsRule rule;
    for (auto f : r.children()) {
      std::string_view n = f.name();
      if (auto colon = n.find(':'); colon != std::string_view::npos) n.remove_prefix(colon + 1);
      std::string v = f.child_value();
      // Origins and header names go back out in response headers: no line breaks or controls.
      if (has_control_chars(v))
        return s3_error(400, "InvalidRequest", "A CORS rule's " + std::string(n) + " has a control character.");
      // S3 allows one wildcard per origin or header pattern.
      if ((n == "AllowedOrigin" || n == "AllowedHeader") && std::count(v.begin(), v.end(), '*') > 1)
        return s3_error(400, "InvalidRequest", std::string(n) + " \"" + v + "\" can not have more than one wildcard.");
      if (n == "ID") {
        if (v.size() > 255) return s3_error(400, "InvalidArgument", "The ID of a CORS rule is longer than 255 characters.");
        rule.id = v;
      } else if (n == "AllowedOrigin") rule.origins.push_back(v);
      else if (n == "AllowedMethod") {
        if (v != "GET" && v != "PUT" && v != "POST" && v != "DELETE" && v != "HEAD")
          return s3_error(400, "InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is " + v);
        rule.methods.push_back(v);
      } else if (n == "AllowedHeader") rule.headers.push_back(v);
      else if (n == "ExposeHeader") rule.expose.push_back(v);
      else if (n == "MaxAgeSeconds") {
        try {
          rule.max_age = std::stoi(v);
        } catch (...) {
          return malformed_xml();
        }
      }
    }
    if (rule.origins.empty() || rule.methods.empty()) return malformed_xml();
    rules.push_back(std::move(rule));
  }
  if (rules.empty() || rules.size() > 100) return malformed_xml();
  return rules;
}

const CorsRule* match_cors(const std::vector<CorsRule>& rules, std::string_view origin, std::string_view method,
                           const std::vector<std::string>& request_headers) {
  for (auto& r : rules) {
    bool o = false, m = false, h = true;
    for (auto& p : r.origins) o = o || wildcard_match(p, origin);
    for (auto& x : r.methods) m = m || x == method;
    for (auto& want : request_headers) {
      bool ok = false;
      for (auto& p : r.headers) ok = ok || wildcard_match(lower(p), want);
      h = h && ok;
    }
    if (o && m && h) return &r;
  }
  return nullptr;
}

HeaderList cors_response_headers(const CorsRule& r, std::string_view origin, bool preflight,
                                 const std::vector<std::string>& request_headers) {
  HeaderList h;
  bool any = r.origins.size() == 1 && r.origins[0] == "*";
  h.emplace_back("Access-Control-Allow-Origin", any ? "*" : std::string(origin));
  if (!any) h.emplace_back("Access-Control-Allow-Credentials", "true");
  h.emplace_back("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
  std::string methods;
  for (auto& m : r.methods) methods += (methods.empty() ? "" : ", ") + m;
  h.emplace_back("Access-Control-Allow-Methods", methods);
  if (preflight && !request_headers.empty()) h.emplace_back("Access-Control-Allow-Headers", join(request_headers));
  if (!r.expose.empty()) {
    std::string e;
    for (auto& x : r.expose) e += (e.empty() ? "" : ", ") + x;
    h.emplace_back("Access-Control-Expose-Headers", e);
  }
  if (r.max_age) h.emplace_back("Access-Control-Max-Age", std::to_string(*r.max_age));
  return h;
}

asio::awaitable<void> load_cors_headers(Ctx& c) {
  auto xml = co_await c.s3config->cors_by_bucket_name(c.op.bucket);
  if (!xml) co_return;
  auto rules = parse_cors(*xml);
  if (auto* list = std::get_if<std::vector<CorsRule>>(&rules)) {
    std::string method(c.ex.request().method_string());
    auto origin = c.header("origin");
    if (auto* r = match_cors(*list, origin, method, {})) c.cors_headers = cors_response_headers(*r, origin, false, {});
  }
}

namespace {

asio::awaitable<void> preflight(Ctx& c) {
  auto origin = c.header("origin");
  auto method = c.header("access-control-request-method");
  if (origin.empty() || method.empty())
    co_return co_await respond_error(c, s3_error(400, "BadRequest", "Insufficient information. Origin request header needed."));
  auto forbidden = s3_error(403, "AccessForbidden",
                            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
                            "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
                            "are not whitelisted by the resource's CORS spec.");
  if (c.op.bucket.empty()) co_return co_await respond_error(c, forbidden);
  auto xml = co_await c.s3config->cors_by_bucket_name(c.op.bucket);
  if (!xml)
    co_return co_await respond_error(c, s3_error(403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket."));
  auto rules = parse_cors(*xml);
  auto* list = std::get_if<std::vector<CorsRule>>(&rules);
  auto wanted = split_list(c.header("access-control-request-headers"));
  const CorsRule* r = list ? match_cors(*list, origin, method, wanted) : nullptr;
  if (!r) co_return co_await respond_error(c, forbidden);
  co_await respond_empty(c, bhttp::status::ok, cors_response_headers(*r, origin, true, wanted));
}

}  // namespace

asio::awaitable<void> handle_cors_op(Ctx& c) {
  if (c.op.op == Op::Preflight) co_return co_await preflight(c);
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  auto& store = *c.s3config;
  if (c.op.op == Op::GetBucketCors) {
    auto xml = co_await store.cors(b->id);
    if (!xml)
      co_return co_await respond_error(c, s3_error(404, "NoSuchCORSConfiguration", "The CORS configuration does not exist"));
    co_return co_await respond_xml(c, *xml);
  }
  if (c.op.op == Op::DeleteBucketCors) {
    co_await store.set_cors(b->id, std::nullopt);
    co_return co_await respond_empty(c, bhttp::status::no_content);
  }
  auto body = co_await read_small_body(c, 64 * 1024);
  if (!body) co_return;
  auto rules = parse_cors(*body);
  if (auto* e = std::get_if<S3Error>(&rules)) co_return co_await respond_error(c, *e);
  // Store a normalised document, so GetBucketCors answers with S3's namespace.
  XmlDoc doc("CORSConfiguration");
  for (auto& r : std::get<std::vector<CorsRule>>(rules)) {
    auto x = doc.root().add("CORSRule");
    if (!r.id.empty()) x.add("ID", r.id);
    for (auto& v : r.headers) x.add("AllowedHeader", v);
    for (auto& v : r.methods) x.add("AllowedMethod", v);
    for (auto& v : r.origins) x.add("AllowedOrigin", v);
    for (auto& v : r.expose) x.add("ExposeHeader", v);
    if (r.max_age) x.add("MaxAgeSeconds", *r.max_age);
  }
  co_await store.set_cors(b->id, doc.str());
  co_await respond_empty(c, bhttp::status::ok);
}

}  // namespace depot::s3
