// The headers an object carries, both ways: request headers -> storage::PutOptions (content
// type, x-amz-meta-*, the stored representation headers, conditional-write headers), and an
// ObjectInfo -> response headers.
#pragma once
#include <variant>

#include "protocols/s3/context.hpp"
#include "storage/engine.hpp"

namespace depot::s3 {

std::variant<storage::PutOptions, S3Error> put_options_from_request(const Ctx& c);
// If-Match / If-None-Match: * on writes.
std::variant<storage::WriteConditions, S3Error> write_conditions(const Ctx& c);

void add_object_headers(http::ResponseHeader& h, const storage::ObjectInfo& o);
std::string quote_etag(std::string_view etag);

}  // namespace depot::s3
