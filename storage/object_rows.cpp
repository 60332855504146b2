#include "storage/object_rows.hpp"

#include <boost/json.hpp>

namespace depot::storage {

std::int64_t to_micros(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint from_micros(std::int64_t us) { return TimePoint(std::chrono::microseconds(us)); }

boost::json::object map_to_json_object(const std::map<std::string, std::string>& m) {
  boost::json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::string map_to_json(const std::map<std::string, std::string>& m) { return boost::json::serialize(map_to_json_object(m)); }

std::map<std::string, std::string> json_to_map(const std::string& json) {
  std::map<std::string, std::string> m;
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return m;
  for (const auto& [k, val] : v.as_object())
    if (val.is_string()) m.emplace(std::string(k), std::string(val.as_string()));
  return m;
}

std::vector<std::int64_t> parse_bigint_array(const std::string& s) {
  std::vector<std::int64_t> out;
  std::int64_t cur = 0;
  bool any = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      cur = cur * 10 + (c - '0');
      any = true;
    } else if (c == ',' || c == '}') {
      if (any) out.push_back(cur);
      cur = 0;
      any = false;
    }
  }
  return out;
}

std::string to_pg_text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::optional<std::string> prefix_upper_bound(const std::string& prefix) {
  // Increment the last code point (UTF-8 keeps code point order in byte order); a code point
  // at U+10FFFF cannot grow, so drop it and increment the one before.
  std::string p = prefix;
  while (!p.empty()) {
    std::size_t start = p.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(p[start]) & 0xC0) == 0x80) --start;
    std::string_view cp(p.data() + start, p.size() - start);
    unsigned char b0 = static_cast<unsigned char>(cp[0]);
    std::uint32_t c = 0;
    if (b0 < 0x80) c = b0;
    else if ((b0 & 0xE0) == 0xC0 && cp.size() >= 2) c = ((b0 & 0x1F) << 6) | (cp[1] & 0x3F);
    else if ((b0 & 0xF0) == 0xE0 && cp.size() >= 3) c = ((b0 & 0x0F) << 12) | ((cp[1] & 0x3F) << 6) | (cp[2] & 0x3F);
    else if ((b0 & 0xF8) == 0xF0 && cp.size() >= 4)
      c = ((b0 & 0x07) << 18) | ((cp[1] & 0x3F) << 12) | ((cp[2] & 0x3F) << 6) | (cp[3] & 0x3F);
    else c = b0;  // invalid UTF-8 cannot be in a key; treat as a byte
    p.resize(start);
    if (c >= 0x10FFFF) continue;
    ++c;
    if (c >= 0xD800 && c <= 0xDFFF) c = 0xE000;
    if (c < 0x80) {
      p += char(c);
    } else if (c < 0x800) {
      p += char(0xC0 | (c >> 6));
      p += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      p += char(0xE0 | (c >> 12));
      p += char(0x80 | ((c >> 6) & 0x3F));
      p += char(0x80 | (c & 0x3F));
    } else {
      p += char(0xF0 | (c >> 18));
      p += char(0x80 | ((c >> 12) & 0x3F));
      p += char(0x80 | ((c >> 6) & 0x3F));
      p += char(0x80 | (c & 0x3F));
    }
    return p;
  }
  return std::nullopt;
}

}  // namespace depot::storage
