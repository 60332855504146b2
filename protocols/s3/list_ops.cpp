// Listings: ListObjects (v1), ListObjectsV2, ListObjectVersions (every object as version "null").
// Each page is one engine range scan.
#include <algorithm>
#include <charconv>

#include "protocols/s3/context.hpp"
#include "protocols/s3/xml.hpp"
#include "src/crypto/checksum.hpp"
#include "src/http/semantics.hpp"
#include "src/utf8.hpp"
#include "storage/engine.hpp"

namespace depot::s3 {
namespace {

struct ListParams {
  storage::ListQuery q;
  bool url_encoding = false;
};

std::optional<S3Error> parse_common(const Ctx& c, ListParams& p) {
  p.q.prefix = c.op.get("prefix");
  p.q.delimiter = c.op.get("delimiter");
  p.q.max_keys = 1000;
  if (c.op.has("max-keys")) {
    auto v = c.op.get("max-keys");
    int n = -1;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || n < 0)
      return s3_error(400, "InvalidArgument", "Provided max-keys not an integer or within integer range");
    p.q.max_keys = std::min(n, 1000);
  }
  if (c.op.has("encoding-type")) {
    if (c.op.get("encoding-type") != "url") return s3_error(400, "InvalidArgument", "Invalid Encoding Method specified in Request");
    p.url_encoding = true;
  }
  return std::nullopt;
}

std::string enc(const ListParams& p, const std::string& s) { return p.url_encoding ? http::percent_encode(s, true) : s; }

asio::awaitable<std::optional<storage::ListPage>> fetch(Ctx& c, const storage::Bucket& b, const ListParams& p) {
  if (p.q.max_keys == 0) co_return storage::ListPage{};
  auto page = co_await c.app.engine.list(b, p.q);
  if (!page) {
    co_await respond_error(c, from_engine(page.error()));
    co_return std::nullopt;
  }
  co_return std::move(page.value());
}

void add_owner(XmlNode n, const storage::Bucket& b) {
  auto o = n.add("Owner");
  o.add("ID", b.owner_name);
  o.add("DisplayName", b.owner_name);
}

void add_object(XmlNode e, const ListParams& p, const storage::ObjectInfo& o) {
  e.add("Key", enc(p, o.key));
  e.add("LastModified", http::format_iso8601(o.modified));
  e.add("ETag", "\"" + o.etag + "\"");
  e.add("Size", o.size);
}

void add_prefixes(XmlNode root, const ListParams& p, const storage::ListPage& page) {
  for (auto& e : page.entries)
    if (e.is_prefix) root.add("CommonPrefixes").add("Prefix", enc(p, e.key));
}

asio::awaitable<void> list_v1(Ctx& c, const storage::Bucket& b, ListParams p) {
  p.q.start_after = c.op.get("marker");
  auto page = co_await fetch(c, b, p);
  if (!page) co_return;
  XmlDoc doc("ListBucketResult");
  auto r = doc.root();
  r.add("Name", b.name);
  r.add("Prefix", enc(p, p.q.prefix));
  r.add("Marker", enc(p, p.q.start_after));
  r.add("MaxKeys", p.q.max_keys);
  if (!p.q.delimiter.empty()) r.add("Delimiter", enc(p, p.q.delimiter));
  r.add_bool("IsTruncated", page->truncated);
  if (page->truncated && !p.q.delimiter.empty()) r.add("NextMarker", enc(p, page->next_marker));
  if (p.url_encoding) r.add("EncodingType", "url");
  for (auto& e : page->entries) {
    if (e.is_prefix) continue;
    auto x = r.add("Contents");
    add_object(x, p, e.object);
    add_owner(x, b);
    x.add("StorageClass", "STANDARD");
  }
  add_prefixes(r, p, *page);
  co_await respond_xml(c, doc.str());
}

asio::awaitable<void> list_v2(Ctx& c, const storage::Bucket& b, ListParams p) {
  std::string token = c.op.get("continuation-token");
  // The token is base64: a '+' sent unencoded arrives as a space (router.hpp parse_query).
  std::replace(token.begin(), token.end(), ' ', '+');
  std::string start_after = c.op.get("start-after");
  if (c.op.has("continuation-token")) {
    auto raw = crypto::base64_decode(token);
    if (!raw || raw->empty() || (*raw)[0] != 'k' || !valid_utf8(std::string_view(*raw).substr(1)))
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "The continuation token provided is incorrect"));
    p.q.start_after = raw->substr(1);
  } else {
    p.q.start_after = start_after;
  }
  bool fetch_owner = c.op.get("fetch-owner") == "true";
  auto page = co_await fetch(c, b, p);
  if (!page) co_return;
  XmlDoc doc("ListBucketResult");
  auto r = doc.root();
  r.add("Name", b.name);
  r.add("Prefix", enc(p, p.q.prefix));
  if (!p.q.delimiter.empty()) r.add("Delimiter", enc(p, p.q.delimiter));
  r.add("MaxKeys", p.q.max_keys);
  if (p.url_encoding) r.add("EncodingType", "url");
  r.add("KeyCount", static_cast<std::int64_t>(page->entries.size()));
  r.add_bool("IsTruncated", page->truncated);
  if (c.op.has("continuation-token")) r.add("ContinuationToken", token);
  if (page->truncated) r.add("NextContinuationToken", crypto::base64_encode("k" + page->next_marker));
  if (!start_after.empty()) r.add("StartAfter", enc(p, start_after));
  for (auto& e : page->entries) {
    if (e.is_prefix) continue;
    auto x = r.add("Contents");
    add_object(x, p, e.object);
    if (fetch_owner) add_owner(x, b);
    x.add("StorageClass", "STANDARD");
  }
  add_prefixes(r, p, *page);
  co_await respond_xml(c, doc.str());
}

asio::awaitable<void> list_versions(Ctx& c, const storage::Bucket& b, ListParams p) {
  if (c.op.has("version-id-marker") && c.op.get("key-marker").empty())
    co_return co_await respond_error(c, s3_error(400, "InvalidArgument",
                                                 "A version-id marker cannot be specified without a key marker."));
  // Every object's one version is "null": no other id can be a marker.
  if (auto v = c.op.get("version-id-marker"); !v.empty() && v != "null")
    co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Invalid version id specified"));
  p.q.start_after = c.op.get("key-marker");
  auto page = co_await fetch(c, b, p);
  if (!page) co_return;
  XmlDoc doc("ListVersionsResult");
  auto r = doc.root();
  r.add("Name", b.name);
  r.add("Prefix", enc(p, p.q.prefix));
  r.add("KeyMarker", enc(p, p.q.start_after));
  r.add("VersionIdMarker", c.op.get("version-id-marker"));
  r.add("MaxKeys", p.q.max_keys);
  if (!p.q.delimiter.empty()) r.add("Delimiter", enc(p, p.q.delimiter));
  r.add_bool("IsTruncated", page->truncated);
  if (page->truncated) {
    r.add("NextKeyMarker", enc(p, page->next_marker));
    r.add("NextVersionIdMarker", "null");
  }
  if (p.url_encoding) r.add("EncodingType", "url");
  for (auto& e : page->entries) {
    if (e.is_prefix) continue;
    auto x = r.add("Version");
    x.add("Key", enc(p, e.object.key));
    x.add("VersionId", "null");
    x.add_bool("IsLatest", true);
    x.add("LastModified", http::format_iso8601(e.object.modified));
    x.add("ETag", "\"" + e.object.etag + "\"");
    x.add("Size", e.object.size);
    add_owner(x, b);
    x.add("StorageClass", "STANDARD");
  }
  add_prefixes(r, p, *page);
  co_await respond_xml(c, doc.str());
}

}  // namespace

asio::awaitable<void> handle_list_op(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  ListParams p;
  if (auto e = parse_common(c, p)) co_return co_await respond_error(c, *e);
  switch (c.op.op) {
    case Op::ListObjectsV2: co_await list_v2(c, *b, std::move(p)); break;
    case Op::ListObjectVersions: co_await list_versions(c, *b, std::move(p)); break;
    default: co_await list_v1(c, *b, std::move(p)); break;
  }
}

}  // namespace depot::s3
