// UTF-8 well-formedness. Names, keys and metadata are PostgreSQL text, which refuses anything
// else: the front-ends and the engine check first and answer 400 rather than fail in SQL.
#pragma once
#include <cstdint>
#include <string_view>

namespace depot {

// True when s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) n = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 3, cp = c & 0x07;
    else return false;  // a continuation byte first, an overlong lead (C0, C1) or past F4
    if (i + n >= s.size()) return false;  // cut short
    for (int k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += n + 1;
  }
  return true;
}

// The number of code points in well-formed UTF-8 s (limits such as S3's 128 characters of a tag
// key count characters, not bytes).
inline std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

// True when s holds an ASCII control character (U+0000..U+001F, U+007F): text that goes into a
// header, a name or a setting, where a line break or a NUL would change its meaning.
inline bool has_control_chars(std::string_view s) {
  for (char ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return true;
  return false;
}

}  // namespace depot
