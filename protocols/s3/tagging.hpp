// Tag sets: S3's limits, and the x-amz-tagging header that PutObject, CreateMultipartUpload and
// CopyObject (with x-amz-tagging-directive REPLACE) carry.
#pragma once
#include <optional>
#include <variant>

#include "protocols/s3/context.hpp"
#include "storage/s3_config_store.hpp"

namespace depot::s3 {

constexpr std::size_t kMaxObjectTags = 10;
constexpr std::size_t kMaxBucketTags = 50;

// InvalidTag when a key or value is too long or empty, a key is aws:..., or there are too many.
std::optional<S3Error> check_tags(const storage::TagMap& tags, std::size_t max_tags);

// x-amz-tagging: URL query form "k1=v1&k2=v2" (percent-encoded, '+' is a space). An empty set
// when the header is absent; InvalidArgument when malformed or a key repeats, InvalidTag when
// a limit is passed.
std::variant<storage::TagMap, S3Error> tagging_header(const Ctx& c);
std::variant<storage::TagMap, S3Error> parse_tagging_header(std::string_view h);

}  // namespace depot::s3
