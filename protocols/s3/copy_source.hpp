// x-amz-copy-source and its conditionals, shared by CopyObject and UploadPartCopy.
#pragma once
#include <optional>
#include <string>
#include <variant>

#include "protocols/s3/context.hpp"
#include "storage/engine.hpp"

namespace depot::s3 {

struct CopySource {
  storage::Bucket bucket;
  storage::ObjectInfo object;
};

// Resolves the source (the caller's bucket, an existing key) and checks the
// x-amz-copy-source-if-* conditions; answers the error itself and returns nullopt.
asio::awaitable<std::optional<CopySource>> resolve_copy_source(Ctx& c);

}  // namespace depot::s3
