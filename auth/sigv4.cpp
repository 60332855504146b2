#include "auth/sigv4.hpp"

#include <algorithm>
#include <array>
#include <ctime>

#include "src/crypto/checksum.hpp"
#include "src/http/semantics.hpp"
#include "src/utf8.hpp"

namespace depot::auth::sigv4 {
namespace {

using namespace std::chrono_literals;
constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr auto kMaxSkew = 15min;
constexpr std::int64_t kMaxExpires = 7 * 24 * 3600;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string decode_or_raw(std::string_view s) {
  auto d = http::percent_decode(s);
  return d ? *d : std::string(s);
}

// name/value pairs of a raw query, percent-decoded. A raw '+' is a space when plus_as_space
// (form encoding, as S3 reads a query), else a '+'.
std::vector<std::pair<std::string, std::string>> split_query(std::string_view raw, bool plus_as_space = false) {
  std::vector<std::pair<std::string, std::string>> out;
  auto decode = [&](std::string_view s) {
    if (!plus_as_space || s.find('+') == std::string_view::npos) return decode_or_raw(s);
    std::string t(s);
    std::replace(t.begin(), t.end(), '+', ' ');
    return decode_or_raw(t);
  };
  while (!raw.empty()) {
    auto amp = raw.find('&');
    auto piece = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (piece.empty()) continue;
    auto eq = piece.find('=');
    if (eq == std::string_view::npos)
      out.emplace_back(decode(piece), "");
    else
      out.emplace_back(decode(piece.substr(0, eq)), decode(piece.substr(eq + 1)));
  }
  return out;
}

AuthError error(std::string code, std::string message, unsigned status = 403) {
  return AuthError{std::move(code), std::move(message), status, {}};
}

// Whoever holds a signed request (a presigned URL, or a request seen on its way) may send it
// with headers of their own: an x-amz-* header the signer did not sign (x-amz-copy-source would
// turn a PUT into a copy of any of the signer's objects) is refused, as AWS does. The payload
// hash is exempt: the signature covers it as the canonical request's last line.
std::optional<AuthError> unsigned_amz_header(const http::RequestHeader& req, const ParsedAuth& a) {
  for (const auto& f : req) {
    auto name = lower(f.name_string());
    if (name.starts_with("x-amz-") && name != "x-amz-content-sha256" &&
        std::find(a.signed_headers.begin(), a.signed_headers.end(), name) == a.signed_headers.end()) {
      AuthError e = error("AccessDenied", "There were headers present in the request which were not signed", 403);
      e.details.emplace_back("HeadersNotSigned", name);
      return e;
    }
  }
  return std::nullopt;
}

// "AKID/20130524/us-east-1/s3/aws4_request"
bool parse_credential(std::string_view cred, ParsedAuth& a) {
  std::vector<std::string_view> parts;
  while (true) {
    auto slash = cred.find('/');
    parts.push_back(cred.substr(0, slash));
    if (slash == std::string_view::npos) break;
    cred.remove_prefix(slash + 1);
  }
  // The access key id itself never contains '/', but tolerate it by joining from the front.
  if (parts.size() < 5 || parts.back() != "aws4_request") return false;
  std::size_t n = parts.size();
  a.service = parts[n - 2];
  a.region = parts[n - 3];
  a.date = parts[n - 4];
  std::string key;
  for (std::size_t i = 0; i + 4 < n; ++i) {
    if (i) key += '/';
    key += parts[i];
  }
  a.access_key = key;
  return !a.access_key.empty() && a.date.size() == 8;
}

std::vector<std::string> split_signed_headers(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto semi = s.find(';');
    auto h = trim(s.substr(0, semi));
    if (!h.empty()) out.push_back(lower(h));
    if (semi == std::string_view::npos) break;
    s.remove_prefix(semi + 1);
  }
  return out;
}

// SigV4 binds a signature to its Host: a signature that leaves host out could be replayed
// against another host name (another bucket, with virtual-hosted style). AWS refuses it.
bool signs_host(const ParsedAuth& a) {
  return std::find(a.signed_headers.begin(), a.signed_headers.end(), "host") != a.signed_headers.end();
}

AuthError host_not_signed() {
  return error("AccessDenied", "There were headers present in the request which were not signed", 403);
}

std::string header_value(const http::RequestHeader& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string{} : std::string(it->value());
}

// All values of a header, joined by ',', each trimmed with inner runs of spaces collapsed.
std::string canonical_header_value(const http::RequestHeader& req, std::string_view name) {
  std::string out;
  bool first = true;
  auto range = req.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) {
    if (!first) out += ',';
    first = false;
    auto v = trim(it->value());
    bool space = false;
    for (char c : v) {
      if (c == ' ' || c == '\t') {
        space = true;
        continue;
      }
      if (space) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}

std::string iso_basic_from(std::chrono::system_clock::time_point t) { return format_amz_date(t); }

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) { return http::percent_encode(s, keep_slash); }

std::string canonical_uri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  return uri_encode(decode_or_raw(raw_path), true);
}

std::string canonical_query(std::string_view raw_query, std::string_view exclude, bool plus_as_space) {
  std::vector<std::pair<std::string, std::string>> enc;
  for (auto& [k, v] : split_query(raw_query, plus_as_space)) {
    if (!exclude.empty() && k == exclude) continue;
    enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
  }
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    out = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  std::tm tm{};
  int y, mo, d, h, mi, se;
  if (!num(0, 4, y) || !num(4, 2, mo) || !num(6, 2, d) || !num(9, 2, h) || !num(11, 2, mi) || !num(13, 2, se))
    return std::nullopt;
  // Years past 2200 would overflow the clock's nanoseconds (and wrap to a time near now).
  if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string format_amz_date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::optional<AuthError> check_region(const ParsedAuth& a, std::string_view expected) {
  if (a.region == expected) return std::nullopt;
  // The region is echoed as AWS does when it is printable UTF-8 (the error body is XML).
  bool echo = a.region.size() <= 64 && valid_utf8(a.region) &&
              std::none_of(a.region.begin(), a.region.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
  std::string why = (echo ? "the region '" + a.region + "' is wrong" : std::string("the region is wrong")) +
                    "; expecting '" + std::string(expected) + "'";
  AuthError e = a.presigned ? AuthError{"AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; " + why, 400, {}}
                            : AuthError{"AuthorizationHeaderMalformed", "The authorization header is malformed; " + why, 400, {}};
  e.details.emplace_back("Region", std::string(expected));
  return e;
}

ParseOutcome parse_request_auth(const http::RequestHeader& req) {
  ParseOutcome out;
  auto authz = req.find(http::bhttp::field::authorization);
  std::string_view target = req.target();
  auto qpos = target.find('?');
  std::string_view raw_query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);

  if (authz != req.end()) {
    for (const auto& [k, val] : split_query(raw_query))
      if (k == "X-Amz-Algorithm" || k == "X-Amz-Signature") {
        out.error = error("InvalidArgument",
                          "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                          "string parameter or the Authorization header should be specified",
                          400);
        return out;
      }
    std::string_view v = trim(authz->value());
    if (!v.starts_with(kAlgorithm) || (v.size() > kAlgorithm.size() && v[kAlgorithm.size()] != ' ')) {
      out.error = error("InvalidRequest",
                        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
                        400);
      return out;
    }
    v.remove_prefix(kAlgorithm.size());
    ParsedAuth a;
    bool have_cred = false, have_sh = false, have_sig = false;
    while (!v.empty()) {
      auto comma = v.find(',');
      auto item = trim(v.substr(0, comma));
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
      auto eq = item.find('=');
      if (eq == std::string_view::npos) continue;
      auto k = trim(item.substr(0, eq));
      auto val = trim(item.substr(eq + 1));
      if (k == "Credential") have_cred = parse_credential(val, a);
      else if (k == "SignedHeaders") { a.signed_headers = split_signed_headers(val); have_sh = !a.signed_headers.empty(); }
      else if (k == "Signature") { a.signature = lower(val); have_sig = !a.signature.empty(); }
    }
    if (!have_cred || !have_sh || !have_sig) {
      out.error = error("AuthorizationHeaderMalformed",
                        "The authorization header is malformed; it must contain Credential, SignedHeaders and Signature.",
                        400);
      return out;
    }
    if (a.service != "s3") {
      out.error = error("AuthorizationHeaderMalformed",
                        "The authorization header is malformed; incorrect service \"" + a.service +
                            "\". This endpoint belongs to \"s3\".",
                        400);
      return out;
    }
    if (!signs_host(a)) {
      out.error = host_not_signed();
      return out;
    }
    a.amz_date = header_value(req, "x-amz-date");
    if (a.amz_date.empty()) {
      auto d = req.find(http::bhttp::field::date);
      if (d != req.end()) {
        if (auto t = http::parse_http_date(d->value())) a.amz_date = format_amz_date(*t);
      }
    }
    a.payload_hash = header_value(req, "x-amz-content-sha256");
    if (a.payload_hash.empty()) {
      out.error = error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400);
      return out;
    }
    if (auto e = unsigned_amz_header(req, a)) {
      out.error = std::move(e);
      return out;
    }
    out.auth = std::move(a);
    return out;
  }

  // Signature V2 query strings (AWSAccessKeyId, Signature, Expires) are refused clearly.
  if (raw_query.find("AWSAccessKeyId=") != std::string_view::npos &&
      raw_query.find("Signature=") != std::string_view::npos) {
    out.error = error("InvalidRequest",
                      "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
                      400);
    return out;
  }
  // Presigned: X-Amz-Algorithm & co in the query.
  if (raw_query.find("X-Amz-Signature") == std::string_view::npos &&
      raw_query.find("X-Amz-Algorithm") == std::string_view::npos)
    return out;  // anonymous
  ParsedAuth a;
  a.presigned = true;
  std::string algorithm, credential, signed_headers, expires;
  for (auto& [k, val] : split_query(raw_query)) {
    if (k == "X-Amz-Algorithm") algorithm = val;
    else if (k == "X-Amz-Credential") credential = val;
    else if (k == "X-Amz-Date") a.amz_date = val;
    else if (k == "X-Amz-Expires") expires = val;
    else if (k == "X-Amz-SignedHeaders") signed_headers = val;
    else if (k == "X-Amz-Signature") a.signature = lower(val);
  }
  auto qerr = [&](std::string msg) {
    out.error = error("AuthorizationQueryParametersError", std::move(msg), 400);
    return out;
  };
  if (algorithm != kAlgorithm)
    return qerr("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  if (!parse_credential(credential, a))
    return qerr("Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  if (a.service != "s3")
    return qerr("Error parsing the X-Amz-Credential parameter; incorrect service \"" + a.service +
                "\". This endpoint belongs to \"s3\".");
  a.signed_headers = split_signed_headers(signed_headers);
  if (a.signed_headers.empty() || a.signature.empty() || a.amz_date.empty() || expires.empty())
    return qerr("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
  if (!signs_host(a)) {
    out.error = host_not_signed();
    return out;
  }
  if (auto e = unsigned_amz_header(req, a)) {
    out.error = std::move(e);
    return out;
  }
  if (expires.starts_with('-') && expires.size() > 1 && expires.find_first_not_of("0123456789", 1) == std::string::npos)
    return qerr("X-Amz-Expires must be non-negative");
  try {
    std::size_t used = 0;
    if (expires.empty() || expires.find_first_not_of("0123456789") != std::string::npos) throw std::invalid_argument("x");
    a.expires = std::stoll(expires, &used);
    if (used != expires.size() || a.expires < 0) throw std::invalid_argument("x");
  } catch (...) {
    return qerr("X-Amz-Expires should be a number");
  }
  if (a.expires > kMaxExpires)
    return qerr("X-Amz-Expires must be less than a week (in seconds) that is; the given X-Amz-Expires must be less "
                "than 604800 seconds");
  auto ph = header_value(req, "x-amz-content-sha256");
  a.payload_hash = ph.empty() ? std::string(kUnsignedPayload) : ph;
  out.auth = std::move(a);
  return out;
}

std::string canonical_request(const http::RequestHeader& req, const ParsedAuth& auth, bool plus_as_space) {
  std::string_view target = req.target();
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  std::string_view raw_query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);

  std::string out;
  out += std::string_view(req.method_string());
  out += '\n';
  out += canonical_uri(path);
  out += '\n';
  out += canonical_query(raw_query, auth.presigned ? "X-Amz-Signature" : "", plus_as_space);
  out += '\n';
  for (auto& h : auth.signed_headers) {
    out += h;
    out += ':';
    out += canonical_header_value(req, h);
    out += '\n';
  }
  out += '\n';
  for (std::size_t i = 0; i < auth.signed_headers.size(); ++i) {
    if (i) out += ';';
    out += auth.signed_headers[i];
  }
  out += '\n';
  out += auth.payload_hash;
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view creq) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += crypto::sha256_hex(creq);
  return out;
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  // The key changes once a day per secret, region and service: each thread keeps the last few
  // it derived, saving four HMACs on every request.
  struct Derived {
    std::string secret, date, region, service, key;
  };
  constexpr std::size_t kKept = 8;
  thread_local std::array<Derived, kKept> kept;
  thread_local std::size_t next = 0;
  for (const auto& d : kept)
    if (!d.key.empty() && d.date == date && d.secret == secret && d.region == region && d.service == service)
      return d.key;
  std::string k = crypto::hmac_sha256("AWS4" + std::string(secret), date);
  k = crypto::hmac_sha256(k, region);
  k = crypto::hmac_sha256(k, service);
  k = crypto::hmac_sha256(k, "aws4_request");
  kept[next] = Derived{std::string(secret), std::string(date), std::string(region), std::string(service), k};
  next = (next + 1) % kKept;
  return k;
}

std::string sign_hex(std::string_view key, std::string_view sts) { return crypto::to_hex(crypto::hmac_sha256(key, sts)); }

VerifyOutcome verify_request(const http::RequestHeader& req, const ParsedAuth& auth, std::string_view secret,
                             std::chrono::system_clock::time_point now) {
  VerifyOutcome out;
  auto t = parse_amz_date(auth.amz_date);
  if (!t) {
    if (auth.presigned)
      out.error = error("AuthorizationQueryParametersError",
                        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"", 400);
    else
      out.error = error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
    return out;
  }
  if (auth.amz_date.substr(0, 8) != auth.date) {
    out.error = auth.presigned
                    ? error("AuthorizationQueryParametersError",
                            "Invalid credential date \"" + auth.date + "\". This date is not the same as X-Amz-Date: \"" +
                                auth.amz_date.substr(0, 8) + "\".",
                            400)
                    : error("AuthorizationHeaderMalformed",
                            "The authorization header is malformed; Invalid credential date. Date is not the same as "
                            "X-Amz-Date.",
                            400);
    return out;
  }
  // S3 writes these times to the second: 2026-12-07T06:40:12Z.
  auto to_second = [](std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  std::string server_time = to_second(now);
  if (auth.presigned) {
    if (*t > now + kMaxSkew) {
      out.error = error("AccessDenied", "Request is not valid yet");
      return out;
    }
    if (now > *t + std::chrono::seconds(auth.expires)) {
      out.error = error("AccessDenied", "Request has expired");
      out.error->details = {{"X-Amz-Expires", std::to_string(auth.expires)},
                            {"Expires", to_second(*t + std::chrono::seconds(auth.expires))},
                            {"ServerTime", server_time}};
      return out;
    }
  } else if (*t > now + kMaxSkew || *t < now - kMaxSkew) {
    out.error = error("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.");
    out.error->details = {{"RequestTime", auth.amz_date}, {"ServerTime", server_time},
                          {"MaxAllowedSkewMilliseconds", "900000"}};
    return out;
  }

  std::string creq = canonical_request(req, auth);
  std::string sts = string_to_sign(auth.amz_date, auth.scope(), creq);
  std::string key = signing_key(secret, auth.date, auth.region, auth.service);
  std::string expected = sign_hex(key, sts);
  // A raw '+' in the query: SDKs that percent-encode everything never send one, but form
  // encoders (URLSearchParams, urlencode) write a space as '+' and sign it as %20, as S3 reads it.
  if (!crypto::equal_constant_time(expected, auth.signature) && req.target().find('+') != std::string_view::npos) {
    std::string creq2 = canonical_request(req, auth, true);
    std::string sts2 = string_to_sign(auth.amz_date, auth.scope(), creq2);
    if (std::string e2 = sign_hex(key, sts2); crypto::equal_constant_time(e2, auth.signature)) {
      expected = std::move(e2);
      creq = std::move(creq2);
      sts = std::move(sts2);
    }
  }
  if (!crypto::equal_constant_time(expected, auth.signature)) {
    out.error = error("SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you provided. Check your key "
                      "and signing method.");
    out.error->details = {{"AWSAccessKeyId", auth.access_key},
                          {"StringToSign", sts},
                          {"SignatureProvided", auth.signature},
                          {"CanonicalRequest", creq}};
    return out;
  }
  out.context = SigningContext{std::move(key), auth.amz_date, auth.scope(), auth.signature};
  return out;
}

void sign_request(http::RequestHeader& req, std::string_view access_key, std::string_view secret,
                  std::string_view region, std::string_view payload_hash, std::chrono::system_clock::time_point now) {
  ParsedAuth a;
  a.access_key = access_key;
  a.amz_date = iso_basic_from(now);
  a.date = a.amz_date.substr(0, 8);
  a.region = region;
  a.service = "s3";
  a.payload_hash = payload_hash;
  req.set("x-amz-date", a.amz_date);
  req.set("x-amz-content-sha256", a.payload_hash);
  a.signed_headers = {"host", "x-amz-content-sha256", "x-amz-date"};
  std::string creq = canonical_request(req, a);
  std::string sts = string_to_sign(a.amz_date, a.scope(), creq);
  std::string sig = sign_hex(signing_key(secret, a.date, a.region, a.service), sts);
  req.set(http::bhttp::field::authorization, std::string(kAlgorithm) + " Credential=" + a.access_key + "/" +
                                                   a.scope() + ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + sig);
}

}  // namespace depot::auth::sigv4
