#include "protocols/s3/router.hpp"

#include <algorithm>

#include "src/http/semantics.hpp"

namespace depot::s3 {
namespace {

using V = http::bhttp::verb;

S3Error method_not_allowed() {
  return s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
}

S3Error not_implemented(std::string what) {
  return s3_error(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented: " + what);
}

// Bucket configurations depot does not have (router.hpp AbsentConfig).
constexpr AbsentConfig kAbsentConfigs[] = {
    {"policy", true, "NoSuchBucketPolicy", "The bucket policy does not exist"},
    {"policyStatus", false, "NoSuchBucketPolicy", "The bucket policy does not exist"},
    {"lifecycle", true, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"},
    {"website", true, "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration"},
    {"replication", true, "ReplicationConfigurationNotFoundError", "The replication configuration was not found"},
    {"object-lock", false, "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket"},
    {"publicAccessBlock", true, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"},
    {"ownershipControls", true, "OwnershipControlsNotFoundError", "The bucket ownership controls were not found"},
    {"encryption", true, "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found"},
    // Empty (or default) documents: logging off, no notifications, the owner pays, no acceleration.
    {"logging", false, nullptr, "BucketLoggingStatus"},
    {"notification", false, nullptr, "NotificationConfiguration"},
    {"requestPayment", false, nullptr, "RequestPaymentConfiguration"},
    {"accelerate", false, nullptr, "AccelerateConfiguration"}};

// Bucket sub-resources we do not implement at all answer NotImplemented instead of acting on the bucket.
constexpr std::string_view kUnsupportedBucket[] = {"analytics", "metrics", "inventory", "intelligent-tiering",
                                                   "metadataTable", "metadataConfiguration",
                                                   "metadataInventoryTable", "metadataJournalTable", "session"};
// Object sub-resources likewise: a request for one must not fall through to PUT, GET or DELETE of
// the object (a RenameObject taken for a PutObject would empty the destination).
constexpr std::string_view kUnsupportedObject[] = {"restore", "select", "retention", "legal-hold", "torrent",
                                                   "renameObject"};

// A query parameter a plain write (PutObject, CreateBucket, DeleteObject, DeleteBucket) may carry:
// the SDKs' x-id, a presigned request's X-Amz-* and, on a delete, the version. Any other names
// an operation this server does not know, which must not be taken for the plain write.
bool plain_write_param(const std::string& name, bool is_delete) {
  if (name == "x-id" || (is_delete && name == "versionId")) return true;
  return name.size() > 6 && (name.starts_with("X-Amz-") || name.starts_with("x-amz-"));
}
std::optional<std::string> unknown_write_param(const Operation& op, bool is_delete) {
  for (const auto& [name, value] : op.query)
    if (!plain_write_param(name, is_delete)) return name;
  return std::nullopt;
}

}  // namespace

const AbsentConfig* absent_config(const Operation& op) {
  for (const auto& a : kAbsentConfigs)
    if (op.has(a.sub)) return &a;
  return nullptr;
}

namespace {

RouteOutcome bucket_route(Operation op, V m, const http::RequestHeader& req) {
  RouteOutcome out;
  auto set = [&](Op o) {
    op.op = o;
    out.operation = std::move(op);
    return out;
  };
  auto fail = [&](S3Error e) {
    out.error = std::move(e);
    out.operation = op;  // for the error's Resource
    return out;
  };
  for (auto s : kUnsupportedBucket)
    if (op.has(s)) return fail(not_implemented(std::string(s)));
  if (m == V::options) return set(Op::Preflight);  // a browser's preflight of any request below
  if (const auto* a = absent_config(op)) {
    if (m == V::get) return set(Op::GetBucketAbsentConfig);
    if (m == V::delete_ && a->deletable) return set(Op::DeleteBucketAbsentConfig);
    if (m == V::put) return fail(not_implemented(std::string(a->sub)));
    return fail(method_not_allowed());
  }
  if (op.has("location")) return m == V::get ? set(Op::GetBucketLocation) : fail(method_not_allowed());
  if (op.has("versioning")) {
    if (m == V::get) return set(Op::GetBucketVersioning);
    if (m == V::put) return set(Op::PutBucketVersioning);
    return fail(method_not_allowed());
  }
  if (op.has("tagging")) {
    if (m == V::get) return set(Op::GetBucketTagging);
    if (m == V::put) return set(Op::PutBucketTagging);
    if (m == V::delete_) return set(Op::DeleteBucketTagging);
    return fail(method_not_allowed());
  }
  if (op.has("cors")) {
    if (m == V::get) return set(Op::GetBucketCors);
    if (m == V::put) return set(Op::PutBucketCors);
    if (m == V::delete_) return set(Op::DeleteBucketCors);
    return fail(method_not_allowed());
  }
  if (op.has("acl")) {
    if (m == V::get) return set(Op::GetBucketAcl);
    if (m == V::put) return set(Op::PutBucketAcl);
    return fail(method_not_allowed());
  }
  if (op.has("uploads")) return m == V::get ? set(Op::ListMultipartUploads) : fail(method_not_allowed());
  if (op.has("delete")) return m == V::post ? set(Op::DeleteObjects) : fail(method_not_allowed());
  if (op.has("versions")) return m == V::get ? set(Op::ListObjectVersions) : fail(method_not_allowed());
  if (m == V::put || m == V::delete_)
    if (auto q = unknown_write_param(op, false)) return fail(not_implemented(*q));
  switch (m) {
    case V::put: return set(Op::CreateBucket);
    case V::delete_: return set(Op::DeleteBucket);
    case V::head: return set(Op::HeadBucket);
    case V::get: return set(op.get("list-type") == "2" ? Op::ListObjectsV2 : Op::ListObjects);
    case V::post: return fail(not_implemented("POST object (browser form upload)"));
    default: return fail(method_not_allowed());
  }
}

RouteOutcome object_route(Operation op, V m, const http::RequestHeader& req) {
  RouteOutcome out;
  auto set = [&](Op o) {
    op.op = o;
    out.operation = std::move(op);
    return out;
  };
  auto fail = [&](S3Error e) {
    out.error = std::move(e);
    out.operation = op;  // for the error's Resource
    return out;
  };
  bool copy_source = req.find("x-amz-copy-source") != req.end();
  if (m == V::options) return set(Op::Preflight);
  if (op.has("tagging")) {
    if (m == V::get) return set(Op::GetObjectTagging);
    if (m == V::put) return set(Op::PutObjectTagging);
    if (m == V::delete_) return set(Op::DeleteObjectTagging);
    return fail(method_not_allowed());
  }
  if (op.has("acl")) {
    if (m == V::get) return set(Op::GetObjectAcl);
    if (m == V::put) return set(Op::PutObjectAcl);
    return fail(method_not_allowed());
  }
  if (op.has("attributes")) return m == V::get ? set(Op::GetObjectAttributes) : fail(method_not_allowed());
  if (op.has("uploads")) return m == V::post ? set(Op::CreateMultipartUpload) : fail(method_not_allowed());
  if (op.has("uploadId")) {
    switch (m) {
      case V::put:
        if (!op.has("partNumber")) return fail(s3_error(400, "InvalidArgument", "partNumber is required with uploadId"));
        return set(copy_source ? Op::UploadPartCopy : Op::UploadPart);
      case V::post: return set(Op::CompleteMultipartUpload);
      case V::delete_: return set(Op::AbortMultipartUpload);
      case V::get: return set(Op::ListParts);
      default: return fail(method_not_allowed());
    }
  }
  for (auto s : kUnsupportedObject)
    if (op.has(s)) return fail(not_implemented(std::string(s)));
  if (m == V::put || m == V::delete_)
    if (auto q = unknown_write_param(op, m == V::delete_)) return fail(not_implemented(*q));
  switch (m) {
    case V::put: return set(copy_source ? Op::CopyObject : Op::PutObject);
    case V::get: return set(Op::GetObject);
    case V::head: return set(Op::HeadObject);
    case V::delete_: return set(Op::DeleteObject);
    default: return fail(method_not_allowed());
  }
}

std::string_view host_without_port(std::string_view h) {
  if (!h.empty() && h.front() == '[') {
    auto e = h.find(']');
    return e == std::string_view::npos ? h : h.substr(0, e + 1);
  }
  auto c = h.rfind(':');
  return c == std::string_view::npos ? h : h.substr(0, c);
}

}  // namespace

std::string virtual_host_bucket(std::string_view host_header, std::string_view base_domain) {
  if (base_domain.empty()) return {};
  std::string host(host_without_port(host_header));
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (host.size() > base_domain.size() + 1 && host.ends_with(base_domain) &&
      host[host.size() - base_domain.size() - 1] == '.')
    return host.substr(0, host.size() - base_domain.size() - 1);
  return {};
}

const char* op_name(Op op) {
  switch (op) {
#define N(x) case Op::x: return #x;
    N(ListBuckets) N(CreateBucket) N(DeleteBucket) N(HeadBucket) N(ListObjects) N(ListObjectsV2) N(ListObjectVersions)
    N(GetBucketLocation) N(GetBucketVersioning) N(PutBucketVersioning) N(GetBucketTagging) N(PutBucketTagging)
    N(DeleteBucketTagging) N(GetBucketCors) N(PutBucketCors) N(DeleteBucketCors) N(GetBucketAcl) N(PutBucketAcl)
    N(ListMultipartUploads) N(DeleteObjects) N(PutObject) N(CopyObject) N(GetObject) N(HeadObject) N(DeleteObject)
    N(GetObjectAttributes) N(GetObjectTagging) N(PutObjectTagging) N(DeleteObjectTagging) N(GetObjectAcl)
    N(PutObjectAcl) N(CreateMultipartUpload) N(UploadPart) N(UploadPartCopy) N(CompleteMultipartUpload)
    N(AbortMultipartUpload) N(ListParts) N(Preflight) N(GetBucketAbsentConfig) N(DeleteBucketAbsentConfig)
#undef N
  }
  return "Unknown";
}

std::string Operation::resource() const {
  std::string r = "/";
  if (!bucket.empty()) r += bucket;
  if (!key.empty()) r += "/" + key;
  return r;
}

std::map<std::string, std::string> parse_query(std::string_view raw, bool* undecodable) {
  std::map<std::string, std::string> out;
  while (!raw.empty()) {
    auto amp = raw.find('&');
    auto piece = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (piece.empty()) continue;
    auto eq = piece.find('=');
    auto name = piece.substr(0, eq);
    auto value = eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
    // A raw '+' is a space, as S3 reads a query (form encoding); a plus is sent as %2B.
    std::string n(name), v(value);
    std::replace(n.begin(), n.end(), '+', ' ');
    std::replace(v.begin(), v.end(), '+', ' ');
    auto dn = http::percent_decode(n);
    auto dv = http::percent_decode(v);
    if (!dn || !dv) {
      if (undecodable) *undecodable = true;
      continue;
    }
    out.emplace(std::move(*dn), std::move(*dv));
  }
  return out;
}

RouteOutcome route(const http::RequestHeader& req, std::string_view base_domain) {
  RouteOutcome out;
  std::string_view target = req.target();
  auto qpos = target.find('?');
  std::string_view raw_path = target.substr(0, qpos);
  Operation op;
  bool undecodable = false;
  if (qpos != std::string_view::npos) op.query = parse_query(target.substr(qpos + 1), &undecodable);
  if (undecodable) {
    // A malformed escape or %00 (a NUL names nothing here): refused before the signature is
    // checked, so a client's encoding slip never counts as a failed authentication.
    out.error = s3_error(400, "InvalidArgument", "A query parameter is not validly percent-encoded.");
    return out;
  }
  auto decoded = http::percent_decode(raw_path);
  if (!decoded || decoded->empty() || decoded->front() != '/' || !http::valid_utf8(*decoded)) {
    out.error = s3_error(400, "InvalidURI", "Couldn't parse the specified URI.");
    return out;
  }
  for (const auto& [name, value] : op.query) {
    if (!http::valid_utf8(name) || !http::valid_utf8(value)) {
      out.error = s3_error(400, "InvalidArgument", "A query parameter is not valid UTF-8.");
      return out;
    }
  }
  std::string path = decoded->substr(1);

  auto host_it = req.find(http::bhttp::field::host);
  std::string vbucket = host_it == req.end() ? std::string{} : virtual_host_bucket(host_it->value(), base_domain);
  if (!vbucket.empty()) {
    op.virtual_host = true;
    op.bucket = std::move(vbucket);
    op.key = path;
  } else {
    auto slash = path.find('/');
    op.bucket = path.substr(0, slash);
    if (slash != std::string::npos) op.key = path.substr(slash + 1);
  }

  V m = req.method();
  if (op.bucket.empty()) {
    if (m == V::get) {
      op.op = Op::ListBuckets;
      out.operation = std::move(op);
    } else if (m == V::options) {
      op.op = Op::Preflight;
      out.operation = std::move(op);
    } else {
      out.error = method_not_allowed();
    }
    return out;
  }
  if (op.key.empty()) return bucket_route(std::move(op), m, req);
  return object_route(std::move(op), m, req);
}

}  // namespace depot::s3
