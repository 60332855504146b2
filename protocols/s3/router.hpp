// The S3 request router: method + host + path + query + a few headers -> one typed Operation.
// Handlers receive the Operation and never re-parse the URL. Pure and thread-safe.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/s3/error.hpp"
#include "src/http/exchange.hpp"

namespace depot::s3 {

enum class Op {
  ListBuckets,
  // buckets
  CreateBucket, DeleteBucket, HeadBucket, ListObjects, ListObjectsV2, ListObjectVersions, GetBucketLocation,
  GetBucketVersioning, PutBucketVersioning, GetBucketTagging, PutBucketTagging, DeleteBucketTagging,
  GetBucketCors, PutBucketCors, DeleteBucketCors, GetBucketAcl, PutBucketAcl, ListMultipartUploads, DeleteObjects,
  // a configuration no bucket has here (policy, lifecycle, website, ...; router.cpp kAbsentConfigs)
  GetBucketAbsentConfig, DeleteBucketAbsentConfig,
  // objects
  PutObject, CopyObject, GetObject, HeadObject, DeleteObject, GetObjectAttributes,
  GetObjectTagging, PutObjectTagging, DeleteObjectTagging, GetObjectAcl, PutObjectAcl,
  CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
  // CORS preflight, bucket or object
  Preflight,
};

const char* op_name(Op op);

struct Operation {
  Op op = Op::ListBuckets;
  std::string bucket;  // empty for ListBuckets
  std::string key;     // decoded; empty for bucket operations
  std::map<std::string, std::string> query;  // decoded names and values
  bool virtual_host = false;

  bool has(std::string_view q) const { return query.count(std::string(q)) > 0; }
  std::string get(std::string_view q) const {
    auto it = query.find(std::string(q));
    return it == query.end() ? std::string{} : it->second;
  }
  // The S3 Resource of error bodies: /bucket/key.
  std::string resource() const;
};

// Decodes a raw query string into names and values (a raw '+' is a space). A pair that does not
// decode (a malformed escape, %00) is left out and sets *undecodable.
std::map<std::string, std::string> parse_query(std::string_view raw, bool* undecodable = nullptr);

// A bucket configuration depot does not have (policy, lifecycle, website, ...). No bucket has
// one: a read answers what S3 answers for a bucket without it (GetBucketAbsentConfig), a DELETE
// succeeds where S3 has one (DeleteBucketAbsentConfig), and setting it is NotImplemented.
struct AbsentConfig {
  std::string_view sub;         // the query sub-resource naming it
  bool deletable;               // S3 has a DELETE for it
  const char* not_found_code;   // the 404 code of a read, or nullptr: the read answers `document`
  const char* text;             // the 404 message, or the empty document's root element
};
// The configuration op's query names, or nullptr.
const AbsentConfig* absent_config(const Operation& op);

struct RouteOutcome {
  std::optional<Operation> operation;
  std::optional<S3Error> error;
};
// The bucket named by a virtual-hosted-style Host header (<bucket>.<base_domain>, any port, any
// case), or empty when the Host is not one (or base_domain is empty: path style only).
std::string virtual_host_bucket(std::string_view host_header, std::string_view base_domain);

// base_domain: virtual-hosted style when the Host is <bucket>.<base_domain> (empty: path style only).
RouteOutcome route(const http::RequestHeader& req, std::string_view base_domain);

}  // namespace depot::s3
