// S3 errors: the one place where engine errors and refusals become S3's codes, statuses and
// XML bodies (Code, Message, Resource, RequestId, plus per-code details as AWS sends them).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "auth/sigv4.hpp"
#include "src/result.hpp"

namespace depot::s3 {

struct S3Error {
  unsigned status = 500;
  std::string code = "InternalError";
  std::string message = "We encountered an internal error. Please try again.";
  std::vector<std::pair<std::string, std::string>> details;  // extra elements, in order
  std::string retry_after;  // seconds, sent as Retry-After when set
};

// What the operation was about, for choosing between codes that depend on it
// (invalid_name is InvalidBucketName for a bucket, KeyTooLongError for a key...).
enum class Subject { none, bucket, object, upload };

S3Error from_engine(const Error& e, Subject subject = Subject::none);
S3Error from_auth(const auth::sigv4::AuthError& e);
S3Error s3_error(unsigned status, std::string code, std::string message);
// 400 MalformedXML, AWS's answer to a request body that is not the XML the operation takes.
S3Error malformed_xml();

// The XML error body.
std::string error_xml(const S3Error& e, std::string_view resource, std::string_view request_id);

}  // namespace depot::s3
