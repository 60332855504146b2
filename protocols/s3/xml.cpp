#include "protocols/s3/xml.hpp"

#include <algorithm>
#include <vector>

#include <sstream>

#include "src/xml_valid.hpp"

namespace depot::s3 {

XmlNode XmlNode::add(std::string_view name) {
  return XmlNode(n_.append_child(std::string(name).c_str()));
}

XmlNode XmlNode::add(std::string_view name, std::string_view text) {
  auto c = n_.append_child(std::string(name).c_str());
  c.append_child(pugi::node_pcdata).set_value(std::string(text).c_str());
  return XmlNode(c);
}

XmlNode XmlNode::add(std::string_view name, std::int64_t value) { return add(name, std::to_string(value)); }

XmlNode XmlNode::add_bool(std::string_view name, bool value) { return add(name, value ? "true" : "false"); }

void XmlNode::attr(std::string_view name, std::string_view value) {
  n_.append_attribute(std::string(name).c_str()).set_value(std::string(value).c_str());
}

XmlDoc::XmlDoc(std::string_view root, bool with_namespace) {
  auto decl = doc_.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  root_ = doc_.append_child(std::string(root).c_str());
  if (with_namespace) root_.append_attribute("xmlns") = kS3Namespace;
}

std::string XmlDoc::str() const {
  std::ostringstream os;
  doc_.save(os, "", pugi::format_raw, pugi::encoding_utf8);
  // pugixml writes a carriage return as is, and every XML parser reads it back as a line feed:
  // a key with one would come back as another key. S3 writes &#13;. (format_raw adds no line
  // breaks of its own, so every CR here is a value's.)
  std::string out = os.str();
  if (out.find('\r') == std::string::npos) return out;
  std::string esc;
  esc.reserve(out.size() + 16);
  for (char ch : out) {
    if (ch == '\r') esc += "&#13;";
    else esc += ch;
  }
  return esc;
}

namespace {
// pugixml leaves a reference to an entity it does not know (&nope;, or one a DOCTYPE declares)
// as literal text; XML without a DTD knows only the five predefined ones and character
// references. Markup whose text is not parsed (CDATA, comments, processing instructions) is
// skipped.
bool entity_refs_valid(std::string_view b) {
  static constexpr std::string_view kSkipped[][2] = {{"<![CDATA[", "]]>"}, {"<!--", "-->"}, {"<?", "?>"}};
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (b[i] == '<') {
      for (const auto& [open, close] : kSkipped)
        if (b.substr(i, open.size()) == open) {
          auto end = b.find(close, i + open.size());
          if (end == std::string_view::npos) return false;
          i = end + close.size() - 1;
          break;
        }
      continue;
    }
    if (b[i] != '&') continue;
    auto semi = b.find(';', i);
    if (semi == std::string_view::npos) return false;
    auto name = b.substr(i + 1, semi - i - 1);
    if (name != "lt" && name != "gt" && name != "amp" && name != "apos" && name != "quot" && !name.starts_with('#'))
      return false;
  }
  return true;
}

// One root element, nothing but whitespace (or comments, instructions) beside it, and every
// namespace prefix declared where it is used.
bool well_formed_tree(const pugi::xml_document& doc) {
  int roots = 0;
  for (auto n : doc.children()) {
    if (n.type() == pugi::node_element) ++roots;
    else if (n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata) return false;
  }
  if (roots != 1) return false;
  struct Frame {
    pugi::xml_node node;
    std::vector<std::string> prefixes;  // declared on the way down to it
  };
  std::vector<Frame> stack{{doc.document_element(), {"xml"}}};
  while (!stack.empty()) {
    auto f = std::move(stack.back());
    stack.pop_back();
    for (auto a : f.node.attributes())
      if (std::string_view an = a.name(); an.starts_with("xmlns:")) f.prefixes.emplace_back(an.substr(6));
    std::string_view name = f.node.name();
    if (auto colon = name.find(':'); colon != std::string_view::npos &&
                                     std::find(f.prefixes.begin(), f.prefixes.end(), name.substr(0, colon)) == f.prefixes.end())
      return false;
    for (auto c : f.node.children())
      if (c.type() == pugi::node_element) stack.push_back({c, f.prefixes});
  }
  return true;
}
}  // namespace

// pugixml drops text outside the root element; a document has only markup there.
static bool no_text_outside(std::string_view b) {
  if (b.starts_with("\xEF\xBB\xBF")) b.remove_prefix(3);  // a UTF-8 byte order mark
  auto first = b.find_first_not_of(" \t\r\n");
  auto last = b.find_last_not_of(" \t\r\n");
  return first == std::string_view::npos || (b[first] == '<' && b[last] == '>');
}

std::unique_ptr<pugi::xml_document> parse_xml(const std::string& body) {
  auto doc = std::make_unique<pugi::xml_document>();
  if (!xml_char_refs_valid(body) || !entity_refs_valid(body) || !no_text_outside(body)) return nullptr;
  auto r = doc->load_buffer(body.data(), body.size(), pugi::parse_default & ~pugi::parse_doctype, pugi::encoding_utf8);
  if (!r || !doc->document_element() || !xml_tree_valid(doc->document_element()) || !well_formed_tree(*doc))
    return nullptr;
  return doc;
}

namespace {
std::string_view local_name(const char* n) {
  std::string_view s(n);
  auto colon = s.find(':');
  return colon == std::string_view::npos ? s : s.substr(colon + 1);
}
}  // namespace

std::unique_ptr<pugi::xml_document> parse_xml(const std::string& body, std::string_view root) {
  auto doc = parse_xml(body);
  if (!doc || local_name(doc->document_element().name()) != root) return nullptr;
  return doc;
}

pugi::xml_node child(pugi::xml_node n, std::string_view name) {
  for (auto c : n.children())
    if (c.type() == pugi::node_element && local_name(c.name()) == name) return c;
  return {};
}

std::string child_text(pugi::xml_node n, std::string_view name) { return child(n, name).child_value(); }

}  // namespace depot::s3
