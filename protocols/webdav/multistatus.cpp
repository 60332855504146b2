#include "protocols/webdav/multistatus.hpp"

#include <ostream>  // boost/core string_view needs it complete
#include <boost/beast/http/status.hpp>

namespace depot::webdav {

namespace {

// Namespaces declared once on the root so that their properties stay short (Windows caps the
// size of a PROPFIND answer).
struct KnownNs {
  std::string_view uri;
  std::string_view prefix;
};
constexpr KnownNs known_ns[] = {
    {"DAV:", "D"},
    {"urn:schemas-microsoft-com:", "Z"},
    {"http://owncloud.org/ns", "oc"},
};

const KnownNs* find_known(std::string_view uri) {
  for (const auto& k : known_ns)
    if (k.uri == uri) return &k;
  return nullptr;
}

}  // namespace

std::string status_line(unsigned code) {
  auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(code));
  std::string r(reason);
  if (code == 207) r = "Multi-Status";
  else if (code == 422) r = "Unprocessable Entity";
  else if (code == 423) r = "Locked";
  else if (code == 424) r = "Failed Dependency";
  else if (code == 507) r = "Insufficient Storage";
  if (r.empty() || r == "<unknown-status>") r = "Status";
  return "HTTP/1.1 " + std::to_string(code) + " " + r;
}

MultistatusWriter::MultistatusWriter() {
  buf_ = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus";
  for (const auto& k : known_ns) {
    buf_ += " xmlns:";
    buf_ += k.prefix;
    buf_ += "=\"";
    buf_ += k.uri;
    buf_ += '"';
  }
  buf_ += ">\n";
}

void MultistatusWriter::open_element(std::string& out, const QName& n, bool self_closing, std::string_view lang) {
  out += '<';
  if (const auto* k = find_known(n.ns)) {
    out += k->prefix;
    out += ':';
    out += n.local;
  } else if (n.ns.empty()) {
    out += n.local;
    out += " xmlns=\"\"";
  } else {
    out += "ns0:";
    out += n.local;
    out += " xmlns:ns0=\"";
    append_xml_escaped(out, n.ns);
    out += '"';
  }
  if (!lang.empty()) {
    out += " xml:lang=\"";
    append_xml_escaped(out, lang);
    out += '"';
  }
  out += self_closing ? "/>" : ">";
}

void MultistatusWriter::close_element(std::string& out, const QName& n) {
  out += "</";
  if (const auto* k = find_known(n.ns)) {
    out += k->prefix;
    out += ':';
  } else if (!n.ns.empty()) {
    out += "ns0:";
  }
  out += n.local;
  out += '>';
}

void MultistatusWriter::begin_response(std::string_view href) {
  buf_ += "<D:response><D:href>";
  append_xml_escaped(buf_, href);
  buf_ += "</D:href>";
}

void MultistatusWriter::propstat(unsigned status, const std::vector<PropValue>& props, bool names_only) {
  if (props.empty()) return;
  buf_ += "<D:propstat><D:prop>";
  for (const auto& p : props) {
    if (names_only) {
      open_element(buf_, p.name, true);
    } else if (p.value_xml.empty()) {
      open_element(buf_, p.name, true, p.lang);
    } else {
      open_element(buf_, p.name, false, p.lang);
      buf_ += p.value_xml;
      close_element(buf_, p.name);
    }
  }
  buf_ += "</D:prop><D:status>";
  buf_ += status_line(status);
  buf_ += "</D:status></D:propstat>";
}

void MultistatusWriter::empty_propstat() {
  buf_ += "<D:propstat><D:prop/><D:status>";
  buf_ += status_line(200);
  buf_ += "</D:status></D:propstat>";
}

void MultistatusWriter::end_response() { buf_ += "</D:response>\n"; }

void MultistatusWriter::status_response(std::string_view href, unsigned status, std::string_view error_xml,
                                        std::string_view description) {
  begin_response(href);
  buf_ += "<D:status>";
  buf_ += status_line(status);
  buf_ += "</D:status>";
  if (!error_xml.empty()) {
    buf_ += "<D:error>";
    buf_ += error_xml;
    buf_ += "</D:error>";
  }
  if (!description.empty()) {
    buf_ += "<D:responsedescription>";
    append_xml_escaped(buf_, description);
    buf_ += "</D:responsedescription>";
  }
  end_response();
}

void MultistatusWriter::finish() { buf_ += "</D:multistatus>\n"; }

std::string MultistatusWriter::take() {
  std::string out;
  out.swap(buf_);
  return out;
}

}  // namespace depot::webdav
