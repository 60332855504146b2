// The console's files API (/api/v1/files/...): the signed-in user's buckets as top-level folders,
// folder listings and search, streamed uploads (one PUT, or in parts over storage::MultipartStore),
// downloads with Range, rename / move / copy / delete and new folders. Everything goes through
// storage::Engine, so S3 and WebDAV see the same objects at once. A bucket of another user does
// not exist for the caller (404). See admin-ui/API.md, "Files".
#pragma once
#include <boost/asio/awaitable.hpp>

#include "admin-ui/api_router.hpp"

namespace depot::console {

struct ApiContext;

// True for the operations whose request body is the file's bytes: the console handler must not
// read it as JSON; the operation streams it to the blob store after its checks (quota first).
bool files_raw_body(Op op);

// Runs one files operation (every Op::files_*).
boost::asio::awaitable<void> files_op(ApiContext& c);

}  // namespace depot::console
