#include "protocols/s3/object_headers.hpp"

#include "protocols/s3/acl.hpp"
#include "src/http/semantics.hpp"

namespace depot::s3 {
namespace {
constexpr std::string_view kStoredHeaders[] = {"content-encoding", "content-disposition", "content-language",
                                               "cache-control", "expires", "x-amz-website-redirect-location"};
constexpr std::size_t kMaxUserMeta = 2048;

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return o;
}

// Content-Encoding without the aws-chunked framing token.
std::string strip_aws_chunked(std::string_view v) {
  std::string out;
  while (!v.empty()) {
    auto comma = v.find(',');
    auto tok = v.substr(0, comma);
    while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
    while (!tok.empty() && tok.back() == ' ') tok.remove_suffix(1);
    if (!tok.empty() && lower(tok) != "aws-chunked") {
      if (!out.empty()) out += ",";
      out += tok;
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}
}  // namespace

std::string quote_etag(std::string_view etag) { return "\"" + std::string(etag) + "\""; }

std::variant<storage::WriteConditions, S3Error> write_conditions(const Ctx& c) {
  storage::WriteConditions w;
  auto inm = c.header("if-none-match");
  if (!inm.empty()) {
    if (inm != "*") return s3_error(501, "NotImplemented", "If-None-Match on writes only supports '*'.");
    w.if_none_match_any = true;
  }
  auto im = c.header("if-match");
  if (!im.empty()) w.if_match = std::string(http::unquote_etag(im));
  return w;
}

namespace {
// Storage options of a write that depot does not offer, by header name (lower case): refused,
// never ignored, so a client is not told its object is encrypted or locked when it is not.
std::optional<S3Error> refused_option(std::string_view name) {
  if (name.starts_with("x-amz-server-side-encryption") || name.starts_with("x-amz-copy-source-server-side-encryption"))
    return s3_error(501, "NotImplemented",
                    "Server-side encryption is not supported: depot stores the bytes as they were sent (" +
                        std::string(name) + ").");
  if (name.starts_with("x-amz-object-lock-"))
    return s3_error(400, "InvalidRequest", "Bucket is missing Object Lock Configuration");
  return std::nullopt;
}
}  // namespace

std::variant<storage::PutOptions, S3Error> put_options_from_request(const Ctx& c) {
  if (auto e = check_canned_acl(c)) return *e;
  // One storage class: STANDARD. REDUCED_REDUNDANCY (s3cmd --rr) asks for less durability than
  // that, so STANDARD serves it too; the others (archive and infrequent-access tiers) are refused.
  if (auto sc = c.header("x-amz-storage-class"); !sc.empty() && sc != "STANDARD" && sc != "REDUCED_REDUNDANCY")
    return s3_error(400, "InvalidStorageClass", "The storage class you specified is not valid: depot offers STANDARD only.");
  storage::PutOptions o;
  o.content_type = std::string(c.header("content-type"));
  std::size_t meta_bytes = 0;
  for (auto& f : c.ex.request()) {
    std::string name = lower(f.name_string());
    if (auto e = refused_option(name)) return *e;
    if (name.starts_with("x-amz-meta-")) {
      std::string k = name.substr(11);
      if (k.empty()) continue;  // `x-amz-meta-` alone names nothing: S3 drops it too
      std::string v(f.value());
      meta_bytes += k.size() + v.size();
      auto [it, fresh] = o.user_meta.emplace(k, v);
      if (!fresh) it->second += "," + v;
    }
  }
  if (meta_bytes > kMaxUserMeta)
    return s3_error(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.");
  if (auto loc = c.header("x-amz-website-redirect-location");
      !loc.empty() && !loc.starts_with("/") && !loc.starts_with("http://") && !loc.starts_with("https://"))
    return s3_error(400, "InvalidRedirectLocation",
                    "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.");
  for (auto h : kStoredHeaders) {
    auto v = c.header(h);
    if (v.empty()) continue;
    std::string value = h == "content-encoding" ? strip_aws_chunked(v) : std::string(v);
    if (!value.empty()) o.headers[std::string(h)] = value;
  }
  // PostgreSQL text holds UTF-8 only: checked here for every write that takes these headers
  // (PutObject, CreateMultipartUpload, CopyObject with REPLACE), before anything is stored.
  bool utf8 = valid_utf8(o.content_type);
  for (const auto* m : {&o.user_meta, &o.headers})
    for (const auto& [k, v] : *m) utf8 = utf8 && valid_utf8(k) && valid_utf8(v);
  if (!utf8) return s3_error(400, "InvalidArgument", "A metadata header or Content-Type is not valid UTF-8.");
  auto cond = write_conditions(c);
  if (auto* e = std::get_if<S3Error>(&cond)) return *e;
  o.conditions = std::get<storage::WriteConditions>(cond);
  return o;
}

void add_object_headers(http::ResponseHeader& h, const storage::ObjectInfo& o) {
  h.set(bhttp::field::etag, quote_etag(o.etag));
  h.set(bhttp::field::last_modified, http::format_http_date(o.modified));
  h.set(bhttp::field::content_type, o.content_type.empty() ? "binary/octet-stream" : o.content_type);
  h.set(bhttp::field::accept_ranges, "bytes");
  for (auto& [k, v] : o.headers) h.set(k, v);
  for (auto& [k, v] : o.user_meta) h.set("x-amz-meta-" + k, v);
  http::set_stored_content_guard(h);
}

}  // namespace depot::s3
