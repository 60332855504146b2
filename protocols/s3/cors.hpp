// Bucket CORS: the rules (Put/Get/DeleteBucketCors), preflight OPTIONS, and the CORS headers
// added to ordinary responses when the request's Origin matches a rule.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "protocols/s3/context.hpp"

namespace depot::s3 {

struct CorsRule {
  std::string id;  // optional, kept for GetBucketCors
  std::vector<std::string> origins, methods, headers, expose;  // as sent (headers match in any case)
  std::optional<int> max_age;
};

// Parses and validates a CORSConfiguration document.
std::variant<std::vector<CorsRule>, S3Error> parse_cors(const std::string& xml);
// The first rule allowing origin + method + every requested header, if any.
const CorsRule* match_cors(const std::vector<CorsRule>& rules, std::string_view origin, std::string_view method,
                           const std::vector<std::string>& request_headers);
// The response headers a matched rule gives.
HeaderList cors_response_headers(const CorsRule& r, std::string_view origin, bool preflight,
                                 const std::vector<std::string>& request_headers);

// Fills c.cors_headers from the bucket's rules for the request's Origin and method.
asio::awaitable<void> load_cors_headers(Ctx& c);

}  // namespace depot::s3
