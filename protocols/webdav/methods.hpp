// One handler per WebDAV method family. Each answers the exchange exactly once.
#pragma once
#include "protocols/webdav/dav_context.hpp"

namespace depot::webdav {

// methods_basic.cpp
asio::awaitable<void> handle_options(Ctx& c);
asio::awaitable<void> handle_get(Ctx& c, bool head);
asio::awaitable<void> handle_put(Ctx& c);
asio::awaitable<void> handle_delete(Ctx& c);
asio::awaitable<void> handle_mkcol(Ctx& c);
// methods_copymove.cpp
asio::awaitable<void> handle_copy_move(Ctx& c, bool move);
// methods_props.cpp
asio::awaitable<void> handle_propfind(Ctx& c);
asio::awaitable<void> handle_proppatch(Ctx& c);
// methods_lock.cpp
asio::awaitable<void> handle_lock(Ctx& c);
asio::awaitable<void> handle_unlock(Ctx& c);

// The latest modification time a client may set (X-OC-Mtime, PROPPATCH): 9999-12-31T23:59:59Z,
// the last instant an HTTP date can say; earlier than 1970 is refused too.
inline constexpr std::int64_t kMaxMtimeSeconds = 253402300799;

// The Allow header value.
inline constexpr const char* kAllow =
    "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK";

// Deletes what a resource is (file, collection tree, bucket) with its dead properties and the
// locks rooted in it. Used by DELETE and by COPY/MOVE over an existing destination.
asio::awaitable<Result<void>> delete_resource(Ctx& c, const Resource& r);

// <D:activelock> for a lock (lockdiscovery in PROPFIND and the LOCK answer).
std::string activelock_xml(const storage::DavLock& l);

// Writes an empty object at key (MKCOL markers, LOCK on an unmapped URL, a collection copied at
// Depth 0); in_tx runs in the transaction that commits it. only_if_absent: precondition_failed
// instead of replacing an object there.
asio::awaitable<Result<storage::ObjectInfo>> put_empty(Ctx& c, const storage::Bucket& b, std::string key,
                                                       std::string content_type = {}, storage::TxHook in_tx = {},
                                                       bool only_if_absent = false);

}  // namespace depot::webdav
