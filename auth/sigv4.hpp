// AWS Signature Version 4 for S3: the Authorization header form and presigned query strings.
//
// Checking a request is three steps, so the key lookup (a database call) stays outside:
//   1. parse_request_auth() reads the Authorization header or the X-Amz-* query parameters;
//   2. the caller looks up the secret of parsed.access_key;
//   3. verify_request() rebuilds the canonical request exactly as AWS does and compares.
// Refusals carry the S3 error code (AccessDenied, SignatureDoesNotMatch, ...) so the S3 error
// mapper can answer with AWS's body, including StringToSign and CanonicalRequest.
// All functions are pure and thread-safe.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/http/exchange.hpp"

namespace depot::auth::sigv4 {

// Payload modes named by x-amz-content-sha256.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
inline constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// A refusal, in S3 terms.
struct AuthError {
  std::string code;       // S3 error code
  std::string message;
  unsigned status = 403;
  // Extra elements AWS puts in the error body (e.g. StringToSign, CanonicalRequest,
  // RequestTime, ServerTime, AWSAccessKeyId), in order.
  std::vector<std::pair<std::string, std::string>> details;
};

struct ParsedAuth {
  bool presigned = false;
  std::string access_key;
  std::string date;      // credential scope date, YYYYMMDD
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  // lower-case, in the order given
  std::string signature;                    // hex
  std::string amz_date;                     // YYYYMMDDTHHMMSSZ
  std::int64_t expires = 0;                 // presigned only, seconds
  std::string payload_hash;                 // x-amz-content-sha256 value, or UNSIGNED-PAYLOAD

  std::string scope() const { return date + "/" + region + "/" + service + "/aws4_request"; }
};

// Either the parse, or nothing when the request carries no signature at all (anonymous), or
// an error when it carries a malformed one.
struct ParseOutcome {
  std::optional<ParsedAuth> auth;
  std::optional<AuthError> error;
};
ParseOutcome parse_request_auth(const http::RequestHeader& req);
// AWS refuses a credential scope that names another region than the endpoint's, and says in the
// error's Region element which one it expects (SDKs re-sign with it): AuthorizationHeaderMalformed,
// or AuthorizationQueryParametersError for a presigned URL. Nothing when the region is `expected`.
std::optional<AuthError> check_region(const ParsedAuth& auth, std::string_view expected);

// Pieces of the algorithm, exposed for tests and for the streaming decoder.
std::string uri_encode(std::string_view s, bool keep_slash);
std::string canonical_uri(std::string_view raw_path);
// Sorted, re-encoded query; the parameter named `exclude` (X-Amz-Signature) is left out.
std::string canonical_query(std::string_view raw_query, std::string_view exclude = {}, bool plus_as_space = false);
// plus_as_space: a raw '+' in the query is a space (form encoding), signed as %20.
std::string canonical_request(const http::RequestHeader& req, const ParsedAuth& auth, bool plus_as_space = false);
std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
std::string sign_hex(std::string_view signing_key, std::string_view string_to_sign);

// What a verified request gives the streaming decoder (aws-chunked chunk signatures).
struct SigningContext {
  std::string key;            // derived signing key (raw)
  std::string amz_date;
  std::string scope;
  std::string seed_signature; // the request's signature
};

// Verifies the signature and the request time (15 minutes skew; presigned expiry up to 7 days).
// Returns the signing context on success.
struct VerifyOutcome {
  std::optional<SigningContext> context;
  std::optional<AuthError> error;
};
VerifyOutcome verify_request(const http::RequestHeader& req, const ParsedAuth& auth, std::string_view secret,
                             std::chrono::system_clock::time_point now);

// Parses "20130524T000000Z".
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s);
std::string format_amz_date(std::chrono::system_clock::time_point t);

// Client side, for the load generator and tests: signs a request in place (adds x-amz-date,
// x-amz-content-sha256 and Authorization). Host must already be set.
void sign_request(http::RequestHeader& req, std::string_view access_key, std::string_view secret,
                  std::string_view region, std::string_view payload_hash,
                  std::chrono::system_clock::time_point now);

}  // namespace depot::auth::sigv4
