#include "protocols/s3/xml.hpp"

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

std::unique_ptr<pugi::xml_document> parse_xml(const std::string& body) {
  auto doc = std::make_unique<pugi::xml_document>();
  if (!xml_char_refs_valid(body)) return nullptr;
  auto r = doc->load_buffer(body.data(), body.size(), pugi::parse_default & ~pugi::parse_doctype, pugi::encoding_utf8);
  if (!r || !doc->document_element() || !xml_tree_valid(doc->document_element())) return nullptr;
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
