// S3 multipart uploads: uploads and their parts (each part is a blob of its own), and the
// objects made of several blobs that completing an upload creates, without copying any byte.
//
// Schema (migration 101): multipart_uploads, multipart_parts, blob_segments. A completed object
// is one `objects` row whose blob is a manifest `blobs` row (size = the sum, no file, no inline
// data) with one blob_segments row per part, in order. Part blobs are ordinary `blobs` rows
// (refcount 1, held by the part or by the segment), so the sweeper never takes them for orphans.
// When the manifest row goes (last object using it deleted), its segments cascade and a trigger
// frees the part blobs; their files are then orphans the sweeper removes.
// Thread-safety: all functions may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "src/result.hpp"
#include "storage/blob_store.hpp"
#include "storage/types.hpp"

namespace depot::storage {

class Database;

// Opens bytes [offset, offset+length) of an object whose blob is a manifest (obj.parts > 0).
boost::asio::awaitable<Result<std::unique_ptr<BlobReader>>> open_multipart_object(Database& db, BlobStore& blobs,
                                                                                   const ObjectInfo& obj,
                                                                                   std::uint64_t offset,
                                                                                   std::uint64_t length);

}  // namespace depot::storage
