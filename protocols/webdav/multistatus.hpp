// The 207 Multi-Status body (RFC 4918 section 13), written as a stream.
//
// The writer appends to an internal buffer; the handler sends take() whenever pending() passes
// its flush size, so a PROPFIND over a large collection holds one page of entries in memory,
// never the whole answer. Property values are given as XML already (escaped text or
// self-contained elements, see dav_xml.hpp).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "protocols/webdav/dav_xml.hpp"

namespace depot::webdav {

// "HTTP/1.1 404 Not Found"
std::string status_line(unsigned code);

struct PropValue {
  QName name;
  std::string value_xml;  // empty: an empty element
  std::string lang;       // xml:lang of a dead property, written back as stored (RFC 4918 4.3)
};

class MultistatusWriter {
 public:
  // Writes the XML declaration and the opening <D:multistatus>.
  MultistatusWriter();

  // One <D:response> with propstats: begin, any number of propstat(), end.
  void begin_response(std::string_view href);
  // A <D:propstat> with the given properties and status; names_only writes empty elements
  // (PROPFIND propname). An empty props list writes nothing.
  void propstat(unsigned status, const std::vector<PropValue>& props, bool names_only = false);
  // A <D:propstat> with an empty <D:prop/> and 200: a response must hold a propstat or a status
  // (RFC 4918's DTD), also when the request asked for no property (`<D:prop/>`).
  void empty_propstat();
  void end_response();

  // A <D:response> holding only a status (COPY/MOVE/DELETE/LOCK failures on members), with an
  // optional <D:error> precondition element (e.g. "<D:lock-token-submitted/>").
  void status_response(std::string_view href, unsigned status, std::string_view error_xml = {},
                       std::string_view description = {});

  // Closes the document; pending() then holds the last bytes.
  void finish();

  std::size_t pending() const { return buf_.size(); }
  // The buffer itself, for a writer that appends well-formed XML directly (PROPFIND allprop).
  std::string& buffer() { return buf_; }
  std::string take();

  // The opening tag of a property element with the namespace declaration it needs.
  static void open_element(std::string& out, const QName& n, bool self_closing, std::string_view lang = {});
  static void close_element(std::string& out, const QName& n);

 private:
  std::string buf_;
};

}  // namespace depot::webdav
