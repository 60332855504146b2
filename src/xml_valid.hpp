// What XML 1.0 allows in a document's text, checked after pugixml has parsed it. pugixml takes
// any bytes as UTF-8 and decodes character references to any code point: a name or value with
// an invalid UTF-8 byte then failed later in PostgreSQL (a 500 where a client's mistake deserves
// 400), one with a control character was stored and made every later response that carries it
// ill-formed XML, and `&#0;` cut a string short (a DeleteObjects key `a&#0;b` deleted `a`).
#pragma once
#include <pugixml.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

#include "src/utf8.hpp"

namespace depot {

// XML 1.0's Char production: tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF.
inline bool xml_char(std::uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
         (cp >= 0x10000 && cp <= 0x10FFFF);
}

// True when s is well-formed UTF-8 of XML Chars only.
inline bool xml_text_valid(std::string_view s) {
  if (!valid_utf8(s)) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != 0x9 && c != 0xA && c != 0xD) return false;
    // U+FFFE and U+FFFF: EF BF BE / EF BF BF.
    if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
        (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xBE)
      return false;
  }
  return true;
}

// False when the raw document has a character reference to a code point XML does not allow
// (`&#0;`, `&#x1;`, ...). Checked before parsing: pugixml would decode `&#0;` into a NUL that
// ends the C string it is stored in, so the parsed tree no longer shows it.
inline bool xml_char_refs_valid(std::string_view raw) {
  for (std::size_t at = raw.find("&#"); at != std::string_view::npos; at = raw.find("&#", at + 2)) {
    std::size_t i = at + 2;
    const bool hex = i < raw.size() && raw[i] == 'x';
    if (hex) ++i;
    std::uint64_t cp = 0;
    std::size_t digits = 0;
    for (; i < raw.size() && digits < 12; ++i, ++digits) {
      const char d = raw[i];
      int v;
      if (d >= '0' && d <= '9') v = d - '0';
      else if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
      else if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
      else break;
      cp = cp * (hex ? 16 : 10) + std::uint64_t(v);
    }
    if (digits == 0 || i >= raw.size() || raw[i] != ';') continue;  // not a reference: the parser judges it
    if (digits >= 12 || !xml_char(std::uint32_t(cp)) || cp > 0x10FFFF) return false;
  }
  return true;
}

// True when every name, attribute and text under (and including) root is xml_text_valid.
inline bool xml_tree_valid(pugi::xml_node root) {
  std::vector<pugi::xml_node> stack{root};
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    if (!xml_text_valid(n.name()) || !xml_text_valid(n.value())) return false;
    for (auto a : n.attributes())
      if (!xml_text_valid(a.name()) || !xml_text_valid(a.value())) return false;
    for (auto c : n.children()) stack.push_back(c);
  }
  return true;
}

}  // namespace depot
