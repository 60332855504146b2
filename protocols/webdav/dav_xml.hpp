// Request bodies of PROPFIND, PROPPATCH and LOCK (RFC 4918 section 14), parsed with pugixml
// and resolved against XML namespaces (pugixml itself does not process them).
//
// Every parser takes the whole body (the handler reads it under max_xml_body) and returns
// invalid_argument for a body that is not well-formed, declares an empty namespace for a prefix,
// uses an undeclared prefix, or is not the expected DAV: document; the handler answers 400.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "src/result.hpp"

namespace depot::webdav {

inline constexpr std::size_t max_xml_body = 1024 * 1024;   // bytes of a PROPFIND/PROPPATCH/LOCK body
inline constexpr std::size_t max_xml_depth = 64;            // element nesting in a body
inline constexpr std::size_t max_prop_value = 64 * 1024;    // bytes of one dead property value
inline constexpr std::size_t max_lock_owner = 4 * 1024;     // bytes of a LOCK's owner (in every lockdiscovery)

inline constexpr std::string_view dav_ns = "DAV:";

struct QName {
  std::string ns;     // namespace URI; empty for "no namespace"
  std::string local;
  bool operator==(const QName&) const = default;
  auto operator<=>(const QName&) const = default;
};

struct PropfindRequest {
  enum class Kind { allprop, propname, prop };
  Kind kind = Kind::allprop;
  std::vector<QName> props;    // Kind::prop
  std::vector<QName> include;  // allprop's <include>
};
// An empty body is allprop (RFC 4918 9.1).
Result<PropfindRequest> parse_propfind(std::string_view body);

struct PropPatchOp {
  bool remove = false;
  QName name;
  // The property's content as self-contained XML: child elements carry every namespace
  // declaration they need, text is escaped. Empty for remove and for an empty value.
  std::string value_xml;
  std::string lang;  // xml:lang in scope on the property element, if any
};
struct PropPatchRequest {
  std::vector<PropPatchOp> ops;  // in document order (RFC 4918 9.2: applied in order)
};
Result<PropPatchRequest> parse_proppatch(std::string_view body);

struct LockRequest {
  bool exclusive = true;
  std::string owner_xml;  // the content of <owner>, self-contained XML as for PropPatchOp
};
// An empty body is a refresh; the caller checks for that before calling this.
Result<LockRequest> parse_lockinfo(std::string_view body);

// XML escaping for text content and attribute values.
void append_xml_escaped(std::string& out, std::string_view s);
std::string xml_escape(std::string_view s);

}  // namespace depot::webdav
