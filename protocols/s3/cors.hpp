// Bucket CORS: the rules (Put/Get/DeleteBucketCors), preflight OPTIONS, and the CORS headers
// added to ordinary responses when the request's Origin matches a rule.
#pragma once
#include "protocols/s3/context.hpp"

namespace depot::s3 {
// Fills c.cors_headers from the bucket's rules for the request's Origin and method.
asio::awaitable<void> load_cors_headers(Ctx& c);
}
