#include "protocols/webdav/dav_headers.hpp"

#include <ostream>  // boost/core string_view needs it complete
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>

namespace depot::webdav {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

std::optional<Depth> parse_depth(std::string_view value, Depth dflt) {
  value = trim(value);
  if (value.empty()) return dflt;
  if (value == "0") return Depth::zero;
  if (value == "1") return Depth::one;
  if (iequals(value, "infinity")) return Depth::infinity;
  return std::nullopt;
}

std::optional<bool> parse_overwrite(std::string_view value) {
  value = trim(value);
  if (value.empty()) return true;
  if (value == "T" || value == "t") return true;
  if (value == "F" || value == "f") return false;
  return std::nullopt;
}

std::chrono::seconds parse_timeout(std::string_view value, std::chrono::seconds dflt, std::chrono::seconds max) {
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (iequals(item, "Infinite")) return max;
    if (item.size() > 7 && iequals(item.substr(0, 7), "Second-")) {
      auto digits = item.substr(7);
      unsigned long long n = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec == std::errc::result_out_of_range) return max;
      if (ec != std::errc{} || p != digits.data() + digits.size()) continue;
      if (n == 0) continue;
      if (n > static_cast<unsigned long long>(max.count())) return max;
      return std::chrono::seconds(static_cast<long long>(n));
    }
  }
  return dflt;
}

std::optional<Destination> parse_destination(std::string_view value) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (value.front() == '/') {
    auto end = value.find_first_of("?#");
    return Destination{{}, std::string(value.substr(0, end))};
  }
  auto u = boost::urls::parse_uri(value);
  if (!u) return std::nullopt;
  auto scheme = u->scheme();
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return std::nullopt;
  Destination d;
  d.authority = std::string(u->encoded_authority());
  d.path = std::string(u->encoded_path());
  if (d.path.empty()) d.path = "/";
  if (d.path.front() != '/') return std::nullopt;
  return d;
}

std::optional<std::string> parse_lock_token_header(std::string_view value) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  bool open = value.front() == '<', close = value.back() == '>';
  if (open != close) return std::nullopt;
  if (open) value = trim(value.substr(1, value.size() - 2));
  if (value.empty()) return std::nullopt;
  return std::string(value);
}

std::string_view strip_fragment(std::string_view path) {
  auto h = path.find('#');
  return h == std::string_view::npos ? path : path.substr(0, h);
}

}  // namespace depot::webdav
