#include "protocols/webdav/dav_path.hpp"

#include "src/http/semantics.hpp"
#include "storage/engine.hpp"

namespace depot::webdav {

namespace {

bool bad_segment(std::string_view s) { return s.empty() || s == "." || s == ".."; }

}  // namespace

bool key_is_showable(std::string_view key) {
  if (key.empty()) return false;
  if (key.back() == '/') key.remove_suffix(1);
  std::size_t start = 0;
  while (true) {
    auto slash = key.find('/', start);
    auto seg = key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (bad_segment(seg)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

Result<DavPath> parse_dav_path(std::string_view encoded) {
  if (encoded != "/dav" && !encoded.starts_with("/dav/")) return make_error(Errc::invalid_argument, "not a /dav path");
  auto decoded = http::percent_decode(encoded.substr(4));
  if (!decoded) return make_error(Errc::invalid_argument, "bad percent-encoding in the path");
  if (!http::valid_utf8(*decoded)) return make_error(Errc::invalid_argument, "the path is not valid UTF-8");
  std::string_view rest = *decoded;
  DavPath p;
  if (rest.empty() || rest == "/") {
    p.trailing_slash = true;
    return p;
  }
  rest.remove_prefix(1);
  p.trailing_slash = rest.back() == '/';
  if (p.trailing_slash) rest.remove_suffix(1);
  auto slash = rest.find('/');
  p.bucket = std::string(rest.substr(0, slash));
  if (bad_segment(p.bucket)) return make_error(Errc::invalid_argument, "empty or dot segment in the path");
  if (slash == std::string_view::npos) {
    p.kind = DavPath::Kind::bucket;
    return p;
  }
  p.kind = DavPath::Kind::member;
  p.key = std::string(rest.substr(slash + 1));
  if (!key_is_showable(p.key)) return make_error(Errc::invalid_argument, "empty or dot segment in the path");
  // A collection's marker key ends in '/': its name has one byte less (a file may use all
  // 1024, as over S3).
  if (p.key.size() + (p.trailing_slash ? 1 : 0) > storage::Engine::max_key_bytes)
    return make_error(Errc::too_large, "the name is longer than " + std::to_string(storage::Engine::max_key_bytes) +
                                           " bytes (" + std::to_string(storage::Engine::max_key_bytes - 1) +
                                           " for a collection)");
  return p;
}

std::string DavPath::parent_prefix() const {
  if (kind != Kind::member) return {};
  auto slash = key.rfind('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash + 1);
}

std::string DavPath::name() const {
  if (kind == Kind::root) return {};
  if (kind == Kind::bucket) return bucket;
  auto slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

std::string DavPath::lock_path(bool collection) const {
  if (kind == Kind::root) return "/";
  if (kind == Kind::bucket) return "/" + bucket + "/";
  return "/" + bucket + "/" + key + (collection ? "/" : "");
}

std::string DavPath::href(bool collection) const {
  if (kind == Kind::root) return "/dav/";
  std::string h = "/dav/" + http::percent_encode(bucket, false) + "/";
  if (kind == Kind::bucket) return h;
  h += http::percent_encode(key, true);
  if (collection) h += '/';
  return h;
}

}  // namespace depot::webdav
