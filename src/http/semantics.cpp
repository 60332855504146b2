#include "src/http/semantics.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace depot::http {
namespace {

constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::tm to_tm(storage::TimePoint t) {
  std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

storage::TimePoint from_tm(std::tm& tm, int micros = 0) {
  std::time_t secs = timegm(&tm);
  return storage::TimePoint(std::chrono::seconds(secs) + std::chrono::microseconds(micros));
}

int month_index(std::string_view m) {
  for (int i = 0; i < 12; ++i)
    if (m == kMonths[i]) return i;
  return -1;
}

bool parse_uint(std::string_view s, int& out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool parse_hms(std::string_view s, std::tm& tm) {
  // hh:mm:ss
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  return parse_uint(s.substr(0, 2), tm.tm_hour) && parse_uint(s.substr(3, 2), tm.tm_min) &&
         parse_uint(s.substr(6, 2), tm.tm_sec) && tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec <= 60;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + std::uint64_t(c - '0');
  }
  out = v;
  return true;
}

// Digits of any length; a value past 2^64 - 1 reads as 2^64 - 1 (a range's position past any
// object's end is still a well-formed position: RFC 9110 14.1.1).
bool parse_u64_clamped(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
  auto digits = s.substr(std::min(s.find_first_not_of('0'), s.size()));
  if (digits.size() > 20) {
    out = UINT64_MAX;
    return true;
  }
  std::uint64_t v = 0;
  for (char c : digits) {
    auto d = std::uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      out = UINT64_MAX;
      return true;
    }
    v = v * 10 + d;
  }
  out = v;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Does a comma-separated list of entity tags match etag? weak: W/ tags compare by opaque part.
bool etag_list_matches(std::string_view list, std::string_view etag, bool weak) {
  list = trim(list);
  if (list == "*") return true;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    bool is_weak = item.starts_with("W/");
    if (is_weak && !weak) continue;
    if (unquote_etag(item) == etag) return true;
  }
  return false;
}

}  // namespace

std::string format_http_date(storage::TimePoint t) {
  std::tm tm = to_tm(t);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<storage::TimePoint> parse_http_date(std::string_view s) {
  s = trim(s);
  std::tm tm{};
  auto comma = s.find(',');
  if (comma != std::string_view::npos) {
    auto rest = trim(s.substr(comma + 1));
    if (rest.size() >= 20 && rest[2] == ' ' && rest[6] == ' ') {
      // IMF-fixdate: 06 Nov 1994 08:49:37 GMT
      int mon = month_index(rest.substr(3, 3));
      if (mon < 0 || !parse_uint(rest.substr(0, 2), tm.tm_mday) || !parse_uint(rest.substr(7, 4), tm.tm_year)) return {};
      if (!parse_hms(rest.substr(12, 8), tm)) return {};
      auto zone = trim(rest.substr(20));
      if (zone != "GMT" && zone != "UTC" && zone != "Z" && zone != "+0000") return {};
      tm.tm_mon = mon;
      tm.tm_year -= 1900;
    } else if (rest.size() >= 18 && rest[2] == '-' && rest[6] == '-') {
      // RFC 850: 06-Nov-94 08:49:37 GMT
      int mon = month_index(rest.substr(3, 3));
      if (mon < 0 || !parse_uint(rest.substr(0, 2), tm.tm_mday) || !parse_uint(rest.substr(7, 2), tm.tm_year)) return {};
      if (!parse_hms(rest.substr(10, 8), tm)) return {};
      tm.tm_mon = mon;
      if (tm.tm_year < 70) tm.tm_year += 100;
    } else {
      return {};
    }
  } else {
    // asctime: Sun Nov  6 08:49:37 1994
    if (s.size() != 24) return {};
    int mon = month_index(s.substr(4, 3));
    auto day = trim(s.substr(8, 2));
    if (mon < 0 || !parse_uint(day, tm.tm_mday) || !parse_hms(s.substr(11, 8), tm) ||
        !parse_uint(s.substr(20, 4), tm.tm_year))
      return {};
    tm.tm_mon = mon;
    tm.tm_year -= 1900;
  }
  if (tm.tm_mday < 1 || tm.tm_mday > 31) return {};
  return from_tm(tm);
}

std::string format_iso8601(storage::TimePoint t) {
  std::tm tm = to_tm(t);
  auto ms = (std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000 + 1000) % 1000;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms));
  return buf;
}

std::optional<storage::TimePoint> parse_iso8601(std::string_view s) {
  s = trim(s);
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')) return {};
  std::tm tm{};
  if (!parse_uint(s.substr(0, 4), tm.tm_year) || !parse_uint(s.substr(5, 2), tm.tm_mon) ||
      !parse_uint(s.substr(8, 2), tm.tm_mday) || !parse_hms(s.substr(11, 8), tm))
    return {};
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31) return {};
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  auto rest = s.substr(19);
  int micros = 0;
  if (!rest.empty() && rest[0] == '.') {
    std::size_t i = 1;
    int digits = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      if (digits < 6) { micros = micros * 10 + (rest[i] - '0'); ++digits; }
      ++i;
    }
    if (i == 1) return {};
    for (; digits < 6; ++digits) micros *= 10;
    rest = rest.substr(i);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z" || rest.empty()) {
  } else if ((rest[0] == '+' || rest[0] == '-') && rest.size() == 6 && rest[3] == ':') {
    int h = 0, m = 0;
    if (!parse_uint(rest.substr(1, 2), h) || !parse_uint(rest.substr(4, 2), m)) return {};
    offset = (h * 3600L + m * 60L) * (rest[0] == '+' ? 1 : -1);
  } else {
    return {};
  }
  return from_tm(tm, micros) - std::chrono::seconds(offset);
}

RangeResult resolve_range(std::string_view header, std::uint64_t size) {
  RangeResult r;
  header = trim(header);
  if (header.empty()) return r;
  r.outcome = RangeOutcome::ignored;
  if (!header.starts_with("bytes=")) return r;
  auto spec = trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return r;  // several ranges: serve it all
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return r;
  auto a = trim(spec.substr(0, dash)), b = trim(spec.substr(dash + 1));
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {
    // suffix: the last b bytes
    if (!parse_u64_clamped(b, last)) return r;
    if (last == 0) { r.outcome = RangeOutcome::unsatisfiable; return r; }
    if (size == 0) { r.outcome = RangeOutcome::unsatisfiable; return r; }
    std::uint64_t n = std::min(last, size);
    r.outcome = RangeOutcome::satisfiable;
    r.range = {size - n, n};
    return r;
  }
  if (!parse_u64_clamped(a, first)) return r;
  if (b.empty()) {
    last = size ? size - 1 : 0;
  } else {
    if (!parse_u64_clamped(b, last) || last < first) return r;
    if (last >= size && size) last = size - 1;
  }
  if (first >= size) { r.outcome = RangeOutcome::unsatisfiable; return r; }
  r.outcome = RangeOutcome::satisfiable;
  r.range = {first, last - first + 1};
  return r;
}

Precondition evaluate_preconditions(const RequestHeader& req, std::string_view etag, storage::TimePoint modified,
                                    bool is_get_or_head) {
  auto get = [&](bhttp::field f) -> std::optional<std::string_view> {
    auto it = req.find(f);
    if (it == req.end()) return std::nullopt;
    return std::string_view(it->value());
  };
  auto mod_secs = std::chrono::floor<std::chrono::seconds>(modified);
  auto if_match = get(bhttp::field::if_match);
  if (if_match) {
    if (!etag_list_matches(*if_match, etag, false)) return Precondition::precondition_failed;
  } else if (auto ius = get(bhttp::field::if_unmodified_since)) {
    if (auto t = parse_http_date(*ius); t && mod_secs > *t) return Precondition::precondition_failed;
  }
  auto if_none_match = get(bhttp::field::if_none_match);
  if (if_none_match) {
    if (etag_list_matches(*if_none_match, etag, true))
      return is_get_or_head ? Precondition::not_modified : Precondition::precondition_failed;
  } else if (is_get_or_head) {
    if (auto ims = get(bhttp::field::if_modified_since)) {
      if (auto t = parse_http_date(*ims); t && mod_secs <= *t) return Precondition::not_modified;
    }
  }
  return Precondition::pass;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      char c = char(h * 16 + l);
      if (c == '\0') return std::nullopt;
      out.push_back(c);
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string percent_encode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string_view unquote_etag(std::string_view tag) {
  tag = trim(tag);
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
  return tag;
}

}  // namespace depot::http
