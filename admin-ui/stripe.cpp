#include "admin-ui/stripe.hpp"

#include <curl/curl.h>

#include "auth/tokens.hpp"
#include "src/http/semantics.hpp"

namespace depot::console {

std::vector<std::string> split_secrets(std::string_view list) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= list.size()) {
    auto j = list.find(',', i);
    if (j == std::string_view::npos) j = list.size();
    auto s = list.substr(i, j - i);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (!s.empty()) out.emplace_back(s);
    i = j + 1;
  }
  return out;
}

Result<void> verify_stripe_signature(std::string_view header, std::string_view body,
                                     const std::vector<std::string>& secrets, std::int64_t now,
                                     std::int64_t tolerance) {
  if (secrets.empty()) return make_error(Errc::invalid_argument, "no webhook secret is configured");
  std::string t;
  std::vector<std::string> v1;
  std::size_t i = 0;
  while (i < header.size()) {
    auto j = header.find(',', i);
    if (j == std::string_view::npos) j = header.size();
    auto item = header.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    auto eq = item.find('=');
    if (eq != std::string_view::npos) {
      auto k = item.substr(0, eq), v = item.substr(eq + 1);
      if (k == "t") t = std::string(v);
      else if (k == "v1") v1.emplace_back(v);
    }
    i = j + 1;
  }
  if (t.empty() || v1.empty()) return make_error(Errc::invalid_argument, "Stripe-Signature lacks t or v1");
  std::int64_t ts = 0;
  try {
    std::size_t used = 0;
    ts = std::stoll(t, &used);
    if (used != t.size()) throw std::invalid_argument("t");
  } catch (const std::exception&) {
    return make_error(Errc::invalid_argument, "Stripe-Signature has a malformed timestamp");
  }
  std::string signed_payload = t + "." + std::string(body);
  bool match = false;
  for (const auto& secret : secrets) {
    std::string expected = auth::hex(auth::hmac_sha256(secret, signed_payload));
    for (const auto& sig : v1) match |= auth::constant_time_equal(expected, sig);
  }
  if (!match) return make_error(Errc::invalid_argument, "no signature matches");
  if (ts < now - tolerance || ts > now + tolerance)
    return make_error(Errc::invalid_argument, "the signature timestamp is outside the tolerance");
  return {};
}

namespace {
std::size_t collect(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}
}  // namespace

Result<boost::json::object> stripe_post(const std::string& base, const std::string& secret_key, const std::string& path,
                                        const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [k, v] : fields) {
    if (!body.empty()) body += '&';
    body += http::percent_encode(k, false) + "=" + http::percent_encode(v, false);
  }
  std::string url = base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += path;
  CURL* curl = curl_easy_init();
  if (!curl) return make_error(Errc::unavailable, "curl_easy_init failed");
  std::string answer;
  char err[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Authorization: Bearer " + secret_key).c_str());
  headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, long(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK)
    return make_error(Errc::unavailable, std::string("the billing provider is unreachable: ") + (err[0] ? err : curl_easy_strerror(rc)));
  boost::system::error_code ec;
  auto v = boost::json::parse(answer, ec);
  if (status < 200 || status >= 300) {
    std::string msg = "the billing provider answered " + std::to_string(status);
    if (!ec && v.is_object())
      if (auto e = v.as_object().if_contains("error"); e && e->is_object())
        if (auto m = e->as_object().if_contains("message"); m && m->is_string()) msg += ": " + std::string(m->as_string());
    return make_error(Errc::unavailable, msg);
  }
  if (ec || !v.is_object()) return make_error(Errc::unavailable, "the billing provider sent something that is not JSON");
  return v.as_object();
}

}  // namespace depot::console
