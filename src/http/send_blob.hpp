// Streams an object's bytes as the body of a response, for every protocol's GET.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string_view>

#include "src/http/exchange.hpp"
#include "storage/blob_store.hpp"

namespace depot::http {

// Sends `length` bytes from reader as the body of a response begun with
// begin_response(hdr, length), then ends the response. Bytes that sit in a file go by sendfile
// where the connection allows it (plain HTTP); the rest is read into one buffer sized for the
// body. A blob shorter than `length` closes the connection and throws (`what` names it).
asio::awaitable<void> send_blob_body(Exchange& ex, storage::BlobReader& reader, std::uint64_t length,
                                     std::string_view what);

}  // namespace depot::http
