#include "protocols/s3/error.hpp"

#include "protocols/s3/xml.hpp"

#include <spdlog/spdlog.h>

namespace depot::s3 {

S3Error malformed_xml() {
  return s3_error(400, "MalformedXML",
                  "The XML you provided was not well-formed or did not validate against our published schema");
}

S3Error s3_error(unsigned status, std::string code, std::string message) {
  return S3Error{status, std::move(code), std::move(message), {}};
}

S3Error from_engine(const Error& e, Subject subject) {
  const std::string& m = e.message;
  switch (e.code) {
    case Errc::ok:
    case Errc::internal:
      spdlog::error("s3: internal error: {}", m);
      return S3Error{};
    case Errc::invalid_argument: return s3_error(400, "InvalidArgument", m);
    case Errc::invalid_name:
      if (subject == Subject::bucket) return s3_error(400, "InvalidBucketName", "The specified bucket is not valid.");
      return s3_error(400, "InvalidArgument", m);
    case Errc::not_found:
      if (subject == Subject::upload)
        return s3_error(404, "NoSuchUpload",
                        "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
                        "been aborted or completed.");
      if (subject == Subject::bucket) return s3_error(404, "NoSuchBucket", "The specified bucket does not exist");
      return s3_error(404, "NoSuchKey", "The specified key does not exist.");
    case Errc::no_such_bucket: return s3_error(404, "NoSuchBucket", "The specified bucket does not exist");
    case Errc::no_such_key: return s3_error(404, "NoSuchKey", "The specified key does not exist.");
    case Errc::bucket_exists:
      return s3_error(409, "BucketAlreadyExists",
                      "The requested bucket name is not available. The bucket namespace is shared by all users of "
                      "the system. Please select a different name and try again.");
    case Errc::bucket_owned_by_you:
      return s3_error(409, "BucketAlreadyOwnedByYou",
                      "Your previous request to create the named bucket succeeded and you already own it.");
    case Errc::bucket_not_empty:
      return s3_error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
    case Errc::already_exists:
    case Errc::conflict: return s3_error(409, "OperationAborted", m.empty() ? "A conflicting operation is in progress." : m);
    case Errc::precondition_failed:
      return s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
    case Errc::quota_exceeded: return s3_error(403, "QuotaExceeded", m.empty() ? "Your storage quota is used up." : m);
    case Errc::too_large:
      if (m.find("key") != std::string::npos) return s3_error(400, "KeyTooLongError", "Your key is too long");
      return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
    case Errc::bad_digest:
      return s3_error(400, "BadDigest", m.empty() ? "The Content-MD5 you specified did not match what we received." : m);
    case Errc::access_denied:
    case Errc::unauthenticated: return s3_error(403, "AccessDenied", m.empty() ? "Access Denied" : m);
    case Errc::locked: return s3_error(409, "OperationAborted", "The object is locked by a WebDAV client.");
    case Errc::storage_full: return s3_error(507, "InsufficientStorage", "The server has no room left for this upload.");
    case Errc::unavailable: return s3_error(503, "ServiceUnavailable", "Please reduce your request rate.");
  }
  return S3Error{};
}

S3Error from_auth(const auth::sigv4::AuthError& e) {
  return S3Error{e.status, e.code, e.message, e.details};
}

std::string error_xml(const S3Error& e, std::string_view resource, std::string_view request_id) {
  XmlDoc doc("Error", false);
  doc.root().add("Code", e.code);
  doc.root().add("Message", e.message);
  for (auto& [k, v] : e.details) doc.root().add(k, v);
  doc.root().add("Resource", resource);
  doc.root().add("RequestId", request_id);
  return doc.str();
}

}  // namespace depot::s3
