// Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
// versioning (reported unversioned) and ACLs (the owner's full control).
#include <algorithm>
#include <charconv>

#include "protocols/s3/acl.hpp"
#include "protocols/s3/body.hpp"
#include "protocols/s3/context.hpp"
#include "protocols/s3/xml.hpp"
#include "src/crypto/checksum.hpp"
#include "src/http/semantics.hpp"
#include "storage/engine.hpp"
#include "storage/multipart_store.hpp"
#include "storage/s3_config_store.hpp"

namespace depot::s3 {

namespace {
// True when a grant header's value (grantees "type=value" separated by commas) names the owner
// alone: `id=NAME` or `id="NAME"`.
bool grants_owner_only(std::string_view v, const std::string& owner) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto g = v.substr(0, comma);
    while (!g.empty() && g.front() == ' ') g.remove_prefix(1);
    while (!g.empty() && g.back() == ' ') g.remove_suffix(1);
    if (g != "id=" + owner && g != "id=\"" + owner + "\"") return false;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return true;
}
}  // namespace

std::optional<S3Error> check_canned_acl(const Ctx& c) {
  // Grants to others, as for canned ACLs other than private: refused rather than ignored, so a
  // client never believes it shared what stays private. The owner's full control is what every
  // bucket and object has.
  bool others = !grants_owner_only(c.header("x-amz-grant-full-control"), c.user_name);
  for (std::string_view h : {"x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp"})
    others = others || !c.header(h).empty();
  if (others)
    return s3_error(501, "NotImplemented", "Grants are not supported: every bucket and object belongs to its owner alone.");
  auto acl = c.header("x-amz-acl");
  if (acl.empty() || acl == "private" || acl == "bucket-owner-full-control") return std::nullopt;
  // S3's other canned ACLs are not implemented; anything else is no canned ACL at all.
  static constexpr std::string_view kCanned[] = {"public-read", "public-read-write", "authenticated-read",
                                                 "aws-exec-read", "bucket-owner-read", "log-delivery-write"};
  if (std::find(std::begin(kCanned), std::end(kCanned), acl) == std::end(kCanned))
    return s3_error(400, "InvalidArgument", "x-amz-acl is not a canned ACL.");
  return s3_error(501, "NotImplemented",
                  "Only the canned ACL 'private' is supported: every bucket and object belongs to its owner alone.");
}

namespace {

void add_owner(XmlNode parent, const Ctx& c) {
  auto o = parent.add("Owner");
  o.add("ID", c.user_name);
  o.add("DisplayName", c.user_name);
}

asio::awaitable<void> list_buckets(Ctx& c) {
  // The paginated form: prefix, bucket-region, max-buckets (1..10000) and an opaque
  // continuation-token (the last name of the page before, base64).
  std::string prefix = c.op.get("prefix"), region = c.op.get("bucket-region"), after;
  std::size_t max = 10000;
  bool paged = c.op.has("max-buckets") || c.op.has("continuation-token");
  if (c.op.has("max-buckets")) {
    auto v = c.op.get("max-buckets");
    std::size_t n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || n < 1 || n > 10000)
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "max-buckets must be an integer from 1 to 10000"));
    max = n;
  }
  if (c.op.has("continuation-token")) {
    std::string token = c.op.get("continuation-token");
    std::replace(token.begin(), token.end(), ' ', '+');  // a '+' sent unencoded (router.hpp parse_query)
    auto raw = crypto::base64_decode(token);
    if (!raw || raw->empty() || raw->front() != 'b')
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "The continuation token provided is incorrect"));
    after = raw->substr(1);
  }
  auto buckets = co_await c.app.engine.list_buckets(c.user);
  if (!buckets) co_return co_await respond_error(c, from_engine(buckets.error()));
  XmlDoc doc("ListAllMyBucketsResult");
  add_owner(doc.root(), c);
  auto list = doc.root().add("Buckets");
  std::size_t listed = 0;
  std::string last;
  bool more = false;
  for (auto& b : *buckets) {  // in name order
    if (!b.name.starts_with(prefix) || (!region.empty() && b.region != region) || (!after.empty() && b.name <= after))
      continue;
    if (listed == max) {
      more = true;
      break;
    }
    auto e = list.add("Bucket");
    e.add("Name", b.name);
    e.add("CreationDate", http::format_iso8601(b.created));
    e.add("BucketRegion", b.region);
    last = b.name;
    ++listed;
  }
  if (more) doc.root().add("ContinuationToken", crypto::base64_encode("b" + last));
  if (c.op.has("prefix") || paged) doc.root().add("Prefix", prefix);
  co_await respond_xml(c, doc.str());
}

asio::awaitable<void> create_bucket(Ctx& c) {
  if (auto e = check_canned_acl(c)) co_return co_await respond_error(c, *e);
  // Object lock is not offered: a bucket asked to have it is refused, not made without it.
  if (auto lock = c.header("x-amz-bucket-object-lock-enabled"); boost::beast::iequals(lock, "true"))
    co_return co_await respond_error(c, s3_error(501, "NotImplemented", "Object Lock is not supported: depot buckets have no object lock."));
  if (auto own = c.header("x-amz-object-ownership");
      !own.empty() && own != "BucketOwnerEnforced" && own != "BucketOwnerPreferred" && own != "ObjectWriter")
    co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Invalid x-amz-object-ownership header: " + std::string(own)));
  if (!storage::Engine::valid_bucket_name(c.op.bucket))
    co_return co_await respond_error(c, s3_error(400, "InvalidBucketName", "The specified bucket is not valid."));
  std::string region = c.app.config.region;
  if (c.ex.has_body()) {
    auto body = co_await read_small_body(c, 64 * 1024);
    if (!body) co_return;
    if (!body->empty()) {
      auto doc = parse_xml(*body, "CreateBucketConfiguration");
      if (!doc) co_return co_await respond_error(c, malformed_xml());
      std::string loc = child_text(doc->document_element(), "LocationConstraint");
      if (!loc.empty() && loc != region)
        co_return co_await respond_error(
            c, s3_error(400, "InvalidLocationConstraint",
                        "The specified location-constraint is not valid: this server's region is " + region + "."));
    }
  }
  auto b = co_await c.app.engine.create_bucket(c.user, c.op.bucket, region);
  if (!b) co_return co_await respond_error(c, from_engine(b.error(), Subject::bucket));
  HeaderList h;
  h.emplace_back("Location", "/" + c.op.bucket);
  co_await respond_empty(c, bhttp::status::ok, std::move(h));
}

asio::awaitable<void> delete_bucket(Ctx& c) {
  // Uploads in progress would go with the bucket (cascade) without giving their bytes back to
  // the quota: abort them first.
  auto b = co_await c.app.engine.get_bucket(c.user, c.op.bucket);
  if (b) {
    // Named arguments, never braced temporaries, inside co_await (GCC 12 mis-destroys those).
    storage::ListQuery one;
    one.max_keys = 1;
    auto objects = co_await c.app.engine.list(*b, std::move(one));
    if (objects && objects->entries.empty()) {
      for (;;) {
        std::string none;
        auto page = co_await c.multipart->list_uploads(b->id, none, none, none, 1000);
        if (!page || page->uploads.empty()) break;
        for (auto& u : page->uploads) {
          auto aborted = co_await c.multipart->abort(*b, u);
          (void)aborted;
        }
        if (!page->truncated) break;
      }
    }
  }
  auto r = co_await c.app.engine.delete_bucket(c.user, c.op.bucket);
  if (!r) co_return co_await respond_error(c, from_engine(r.error(), Subject::bucket));
  co_await respond_empty(c, bhttp::status::no_content);
}

asio::awaitable<void> head_bucket(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  HeaderList h;
  h.emplace_back("x-amz-bucket-region", b->region);
  co_await respond_empty(c, bhttp::status::ok, std::move(h));
}

asio::awaitable<void> bucket_location(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  XmlDoc doc("LocationConstraint");
  if (b->region != "us-east-1") doc.root().raw().append_child(pugi::node_pcdata).set_value(b->region.c_str());
  co_await respond_xml(c, doc.str());
}

asio::awaitable<void> get_versioning(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  XmlDoc doc("VersioningConfiguration");
  bool suspended = co_await c.s3config->versioning_suspended(b->id);
  if (suspended) doc.root().add("Status", "Suspended");
  co_await respond_xml(c, doc.str());
}

asio::awaitable<void> put_versioning(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  auto body = co_await read_small_body(c, 64 * 1024);
  if (!body) co_return;
  auto doc = parse_xml(*body, "VersioningConfiguration");
  if (!doc) co_return co_await respond_error(c, malformed_xml());
  std::string status = child_text(doc->document_element(), "Status");
  if (status == "Enabled")
    co_return co_await respond_error(c, s3_error(501, "NotImplemented", "Bucket versioning is not supported yet: buckets stay unversioned."));
  if (status != "Suspended")
    co_return co_await respond_error(c, s3_error(400, "MalformedXML", "Status must be Enabled or Suspended."));
  co_await c.s3config->suspend_versioning(b->id);
  co_await respond_empty(c, bhttp::status::ok);
}

// A configuration no bucket has here (router.hpp AbsentConfig): GET answers what S3 answers for
// a bucket without it, the "not found" error of that configuration or its empty document; DELETE
// succeeds, as S3's does when there is nothing to delete.
asio::awaitable<void> answer_absent_config(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  if (c.op.op == Op::DeleteBucketAbsentConfig) co_return co_await respond_empty(c, bhttp::status::no_content);
  const AbsentConfig* a = absent_config(c.op);  // the router found one
  if (a->not_found_code) co_return co_await respond_error(c, s3_error(404, a->not_found_code, a->text));
  XmlDoc doc(a->text);
  if (a->sub == "requestPayment") doc.root().add("Payer", "BucketOwner");  // the default payer
  co_await respond_xml(c, doc.str());
}

}  // namespace

asio::awaitable<void> handle_bucket_op(Ctx& c) {
  switch (c.op.op) {
    case Op::ListBuckets: co_await list_buckets(c); break;
    case Op::CreateBucket: co_await create_bucket(c); break;
    case Op::DeleteBucket: co_await delete_bucket(c); break;
    case Op::HeadBucket: co_await head_bucket(c); break;
    case Op::GetBucketLocation: co_await bucket_location(c); break;
    case Op::GetBucketVersioning: co_await get_versioning(c); break;
    case Op::PutBucketVersioning: co_await put_versioning(c); break;
    case Op::GetBucketAbsentConfig:
    case Op::DeleteBucketAbsentConfig: co_await answer_absent_config(c); break;
    default: co_await respond_error(c, s3_error(501, "NotImplemented", "Not implemented.")); break;
  }
}

asio::awaitable<void> handle_acl_op(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  if (c.op.op == Op::GetObjectAcl || c.op.op == Op::PutObjectAcl) {
    auto o = co_await c.app.engine.head_object(*b, c.op.key);
    if (!o) co_return co_await respond_error(c, from_engine(o.error(), Subject::object));
  }
  if (c.op.op == Op::PutBucketAcl || c.op.op == Op::PutObjectAcl) {
    if (auto e = check_canned_acl(c)) co_return co_await respond_error(c, *e);
    if (c.ex.has_body()) {
      auto body = co_await read_small_body(c, 64 * 1024);
      if (!body) co_return;
      if (!body->empty()) {
        // An access control policy in the body: only the one every object has (the owner's full
        // control) can be kept.
        auto doc = parse_xml(*body, "AccessControlPolicy");
        if (!doc)
          co_return co_await respond_error(c, s3_error(400, "MalformedACLError", "The XML you provided was not well-formed or did not validate against our published schema."));
        for (auto g : child(doc->document_element(), "AccessControlList").children()) {
          if (g.type() != pugi::node_element) continue;
          if (child_text(g, "Permission") != "FULL_CONTROL" || child_text(child(g, "Grantee"), "ID") != c.user_name)
            co_return co_await respond_error(c, s3_error(501, "NotImplemented", "Only the owner's FULL_CONTROL is supported: objects and buckets are private."));
        }
      }
    }
    co_return co_await respond_empty(c, bhttp::status::ok);
  }
  XmlDoc doc("AccessControlPolicy");
  add_owner(doc.root(), c);
  auto grant = doc.root().add("AccessControlList").add("Grant");
  auto grantee = grant.add("Grantee");
  grantee.attr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance");
  grantee.attr("xsi:type", "CanonicalUser");
  grantee.add("ID", c.user_name);
  grantee.add("DisplayName", c.user_name);
  grant.add("Permission", "FULL_CONTROL");
  co_await respond_xml(c, doc.str());
}

}  // namespace depot::s3
