#include "protocols/webdav/dav_xml.hpp"

#include <map>
#include <optional>
#include <pugixml.hpp>

#include "src/xml_valid.hpp"

namespace depot::webdav {

namespace {

constexpr std::string_view xml_ns_uri = "http://www.w3.org/XML/1998/namespace";
constexpr std::string_view xmlns_ns_uri = "http://www.w3.org/2000/xmlns/";

Error bad(std::string msg) { return make_error(Errc::invalid_argument, std::move(msg)); }

std::pair<std::string_view, std::string_view> split_qname(std::string_view name) {
  auto c = name.find(':');
  if (c == std::string_view::npos) return {{}, name};
  return {name.substr(0, c), name.substr(c + 1)};
}

// The namespace bound to prefix at node n (walking up), or nullopt when undeclared.
std::optional<std::string> lookup_ns(pugi::xml_node n, std::string_view prefix) {
  if (prefix == "xml") return std::string(xml_ns_uri);
  std::string attr = prefix.empty() ? std::string("xmlns") : "xmlns:" + std::string(prefix);
  for (auto p = n; p; p = p.parent()) {
    if (p.type() != pugi::node_element) continue;
    if (auto a = p.attribute(attr.c_str())) return std::string(a.value());
  }
  if (prefix.empty()) return std::string();
  return std::nullopt;
}

QName qname_of(pugi::xml_node n) {
  auto [prefix, local] = split_qname(n.name());
  return QName{lookup_ns(n, prefix).value_or(""), std::string(local)};
}

bool is(pugi::xml_node n, std::string_view ns, std::string_view local) {
  if (n.type() != pugi::node_element) return false;
  auto q = qname_of(n);
  return q.ns == ns && q.local == local;
}

// Checks namespace well-formedness of the whole tree: no prefix bound to "", no undeclared
// prefix on elements or attributes, bounded depth.
Result<void> check_namespaces(pugi::xml_node root) {
  struct Item { pugi::xml_node n; std::size_t depth; };
  std::vector<Item> stack{{root, 1}};
  while (!stack.empty()) {
    auto [n, depth] = stack.back();
    stack.pop_back();
    if (depth > max_xml_depth) return bad("XML body nested too deeply");
    for (auto a : n.attributes()) {
      std::string_view an = a.name();
      std::string_view uri = a.value();
      // Namespaces in XML 1.0: xml and xmlns are reserved, as are their two namespace names; a
      // body that rebinds them would come back (as a dead property) as a response no parser
      // accepts.
      if (an == "xmlns" || an.rfind("xmlns:", 0) == 0) {
        std::string_view prefix = an == "xmlns" ? std::string_view() : an.substr(6);
        if (!prefix.empty() && uri.empty()) return bad("empty namespace name for prefix " + std::string(prefix));
        if (prefix == "xmlns" || (prefix == "xml") != (uri == xml_ns_uri) || uri == xmlns_ns_uri ||
            prefix.find(':') != std::string_view::npos)
          return bad("a reserved namespace prefix or name is bound");
        continue;
      }
      auto [p, l] = split_qname(an);
      if (l.empty() || l.find(':') != std::string_view::npos) return bad("invalid attribute name");
      if (!p.empty() && !lookup_ns(n, p)) return bad("undeclared namespace prefix " + std::string(p));
    }
    auto [p, l] = split_qname(n.name());
    if (l.empty()) return bad("empty element name");
    if (l.find(':') != std::string_view::npos) return bad("an element name has more than one colon");
    if (!p.empty() && !lookup_ns(n, p)) return bad("undeclared namespace prefix " + std::string(p));
    if (lookup_ns(n, p) == std::optional<std::string>(xml_ns_uri))
      return bad("no element belongs to the reserved xml namespace");
    for (auto c : n.children())
      if (c.type() == pugi::node_element) stack.push_back({c, depth + 1});
  }
  return {};
}

struct ParsedBody {
  pugi::xml_document doc;
  pugi::xml_node root;
};

Result<void> load(ParsedBody& pb, std::string_view body) {
  if (!xml_char_refs_valid(body)) return bad("XML body refers to a character XML does not allow");
  auto r = pb.doc.load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_doctype,
                              pugi::encoding_auto);
  if (!r) return bad(std::string("XML body is not well-formed: ") + r.description());
  // A DTD could declare entities, which are not expanded here: refused rather than half-read
  // (WebDAV bodies never need one).
  for (auto n : pb.doc.children())
    if (n.type() == pugi::node_doctype) return bad("XML body has a DOCTYPE declaration, which is not accepted");
  pb.root = pb.doc.document_element();
  if (!pb.root) return bad("XML body has no document element");
  if (!xml_tree_valid(pb.root)) return bad("XML body has invalid UTF-8 or a character XML does not allow");
  return check_namespaces(pb.root);
}

// Every namespace binding in scope at n, innermost first.
std::map<std::string, std::string> bindings_in_scope(pugi::xml_node n) {
  std::map<std::string, std::string> out;
  for (auto p = n; p; p = p.parent()) {
    if (p.type() != pugi::node_element) continue;
    for (auto a : p.attributes()) {
      std::string_view an = a.name();
      if (an == "xmlns") out.emplace("", a.value());
      else if (an.rfind("xmlns:", 0) == 0) out.emplace(std::string(an.substr(6)), a.value());
    }
  }
  return out;
}

struct StringWriter : pugi::xml_writer {
  std::string& out;
  explicit StringWriter(std::string& o) : out(o) {}
  void write(const void* data, size_t size) override { out.append(static_cast<const char*>(data), size); }
};

// The content of element e as self-contained XML (see PropPatchOp::value_xml).
std::string inner_xml(pugi::xml_node e) {
  std::string out;
  auto scope = bindings_in_scope(e);
  for (auto c : e.children()) {
    switch (c.type()) {
      case pugi::node_pcdata:
      case pugi::node_cdata:
        append_xml_escaped(out, c.value());
        break;
      case pugi::node_element: {
        pugi::xml_document tmp;
        auto copy = tmp.append_copy(c);
        for (const auto& [prefix, uri] : scope) {
          std::string an = prefix.empty() ? std::string("xmlns") : "xmlns:" + prefix;
          if (!copy.attribute(an.c_str())) copy.append_attribute(an.c_str()) = uri.c_str();
        }
        StringWriter w(out);
        tmp.save(w, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

std::string lang_in_scope(pugi::xml_node n) {
  for (auto p = n; p; p = p.parent())
    if (p.type() == pugi::node_element)
      if (auto a = p.attribute("xml:lang")) return a.value();
  return {};
}

std::vector<QName> child_names(pugi::xml_node prop) {
  std::vector<QName> out;
  for (auto c : prop.children())
    if (c.type() == pugi::node_element) out.push_back(qname_of(c));
  return out;
}

}  // namespace

Result<PropfindRequest> parse_propfind(std::string_view body) {
  PropfindRequest req;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return req;
  ParsedBody pb;
  if (auto r = load(pb, body); !r) return r.error();
  if (!is(pb.root, dav_ns, "propfind")) return bad("expected DAV:propfind");
  bool seen = false;
  for (auto c : pb.root.children()) {
    if (c.type() != pugi::node_element) continue;
    auto q = qname_of(c);
    if (q.ns != dav_ns) continue;  // extensions are ignored (RFC 4918 17)
    if (q.local == "include") {
      auto names = child_names(c);
      req.include.insert(req.include.end(), names.begin(), names.end());
      continue;
    }
    if (q.local != "allprop" && q.local != "propname" && q.local != "prop") continue;
    if (seen) return bad("DAV:propfind holds more than one of allprop, propname, prop");
    seen = true;
    if (q.local == "allprop") req.kind = PropfindRequest::Kind::allprop;
    else if (q.local == "propname") req.kind = PropfindRequest::Kind::propname;
    else {
      req.kind = PropfindRequest::Kind::prop;
      req.props = child_names(c);
    }
  }
  if (!seen) return bad("DAV:propfind holds none of allprop, propname, prop");
  return req;
}

Result<PropPatchRequest> parse_proppatch(std::string_view body) {
  ParsedBody pb;
  if (auto r = load(pb, body); !r) return r.error();
  if (!is(pb.root, dav_ns, "propertyupdate")) return bad("expected DAV:propertyupdate");
  PropPatchRequest req;
  for (auto op : pb.root.children()) {
    if (op.type() != pugi::node_element) continue;
    bool set = is(op, dav_ns, "set"), remove = is(op, dav_ns, "remove");
    if (!set && !remove) continue;
    for (auto prop : op.children()) {
      if (!is(prop, dav_ns, "prop")) continue;
      for (auto p : prop.children()) {
        if (p.type() != pugi::node_element) continue;
        PropPatchOp o;
        o.remove = remove;
        o.name = qname_of(p);
        if (set) {
          o.value_xml = inner_xml(p);
          if (o.value_xml.size() > max_prop_value) return bad("property value too large");
          o.lang = lang_in_scope(p);
        }
        req.ops.push_back(std::move(o));
      }
    }
  }
  if (req.ops.empty()) return bad("DAV:propertyupdate changes no property");
  return req;
}

Result<LockRequest> parse_lockinfo(std::string_view body) {
  ParsedBody pb;
  if (auto r = load(pb, body); !r) return r.error();
  if (!is(pb.root, dav_ns, "lockinfo")) return bad("expected DAV:lockinfo");
  LockRequest req;
  bool scope = false, type = false;
  for (auto c : pb.root.children()) {
    if (is(c, dav_ns, "lockscope")) {
      for (auto s : c.children()) {
        if (is(s, dav_ns, "exclusive")) { req.exclusive = true; scope = true; }
        else if (is(s, dav_ns, "shared")) { req.exclusive = false; scope = true; }
      }
    } else if (is(c, dav_ns, "locktype")) {
      for (auto t : c.children())
        if (is(t, dav_ns, "write")) type = true;
    } else if (is(c, dav_ns, "owner")) {
      req.owner_xml = inner_xml(c);
      if (req.owner_xml.size() > max_lock_owner) return bad("lock owner too large");
    }
  }
  if (!scope) return bad("DAV:lockinfo without a lock scope");
  if (!type) return bad("DAV:lockinfo without DAV:write lock type");
  return req;
}

// Text that XML 1.0 cannot carry at all (C0 controls but tab, LF and CR; U+FFFE and U+FFFF)
// becomes U+FFFD: such a name can exist (a key made over S3, where only UTF-8 is asked), and
// written as it is it would make the whole multistatus of its folder ill-formed, which no
// client can list. CR goes as a reference, which parsers do not fold into LF.
void append_xml_escaped(std::string& out, std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (u < 0x20 && ch != '\t' && ch != '\n') {
          out += kReplacement;
        } else if (u == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
                   (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xBE) {
          out += kReplacement;
          i += 2;
        } else {
          out += ch;
        }
    }
  }
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_xml_escaped(out, s);
  return out;
}

}  // namespace depot::webdav
