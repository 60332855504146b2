// XML for S3 bodies, through pugixml: a small builder for responses and a bounded parser for
// request bodies. One writer for every S3 response.
#pragma once
#include <pugixml.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace depot::s3 {

inline constexpr const char* kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

class XmlNode {
 public:
  explicit XmlNode(pugi::xml_node n) : n_(n) {}
  XmlNode add(std::string_view name);
  XmlNode add(std::string_view name, std::string_view text);
  XmlNode add(std::string_view name, std::int64_t value);
  XmlNode add_bool(std::string_view name, bool value);
  void attr(std::string_view name, std::string_view value);
  pugi::xml_node raw() const { return n_; }

 private:
  pugi::xml_node n_;
};

class XmlDoc {
 public:
  // A document whose root is `root`, with S3's xmlns when with_namespace.
  explicit XmlDoc(std::string_view root, bool with_namespace = true);
  XmlNode root() { return XmlNode(root_); }
  std::string str() const;

 private:
  pugi::xml_document doc_;
  pugi::xml_node root_;
};

// Parses a request body (already size-limited by the caller); nullopt when not well-formed.
// Element names are compared without namespace prefix.
std::unique_ptr<pugi::xml_document> parse_xml(const std::string& body);
// The same, and also null when the document element is not `root` (ignoring its prefix).
std::unique_ptr<pugi::xml_document> parse_xml(const std::string& body, std::string_view root);
// The first child element named `name` (ignoring namespace prefixes).
pugi::xml_node child(pugi::xml_node n, std::string_view name);
std::string child_text(pugi::xml_node n, std::string_view name);

}  // namespace depot::s3
