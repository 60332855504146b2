// What every S3 operation handler gets: the app, the exchange, the routed operation and the
// authenticated caller; plus the few response helpers all handlers share.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>

#include "auth/sigv4.hpp"
#include "protocols/s3/error.hpp"
#include "protocols/s3/router.hpp"
#include "src/app.hpp"
#include "src/http/exchange.hpp"
#include "storage/types.hpp"

namespace depot::storage { class MultipartStore; class S3ConfigStore; }

namespace depot::s3 {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

struct Ctx {
  App& app;
  http::Exchange& ex;
  Operation op;
  storage::UserId user = 0;
  std::string user_name;
  std::string access_key;
  std::optional<auth::sigv4::SigningContext> signer;  // set for header-signed requests
  std::string payload_hash;                           // x-amz-content-sha256 as signed
  storage::MultipartStore* multipart = nullptr;
  storage::S3ConfigStore* s3config = nullptr;  // tagging and CORS
  // CORS headers to add to the response (from the bucket's rules and the request Origin).
  std::vector<std::pair<std::string, std::string>> cors_headers;
  // Read along with the access key's validity (Engine::probe) when the key was known: the
  // operation's bucket, and for GetObject/HeadObject its object. Each is used once.
  std::optional<Result<storage::Bucket>> probed_bucket;
  std::optional<Result<storage::ObjectInfo>> probed_object;
  std::optional<storage::Usage> probed_usage;  // for PutObject
  // PutObject only: the bucket and usage above are a moment old (S3Handler's PutProbeCache), not
  // read by this request; the commit confirms the key and the bucket. forget_probe drops them when
  // the commit found either gone.
  bool probe_skipped = false;
  std::function<void()> forget_probe;

  std::string_view header(std::string_view name) const { return ex.header(name); }
  bool is_head() const { return ex.request().method() == bhttp::verb::head; }
};

// Answers with an S3 error body (no body for HEAD).
asio::awaitable<void> respond_error(Ctx& c, const S3Error& e);
asio::awaitable<void> respond_xml(Ctx& c, std::string xml, bhttp::status st = bhttp::status::ok);
// An empty response with extra headers.
using HeaderList = std::vector<std::pair<std::string, std::string>>;
asio::awaitable<void> respond_empty(Ctx& c, bhttp::status st, HeaderList headers = {});
// Applies CORS headers of the context to a response header.
void add_cors(const Ctx& c, http::ResponseHeader& h);

// Every operation handler (one file per family).
asio::awaitable<void> handle_bucket_op(Ctx& c);     // bucket_ops.cpp
asio::awaitable<void> handle_list_op(Ctx& c);       // list_ops.cpp
asio::awaitable<void> handle_put_object(Ctx& c);    // put_object.cpp
asio::awaitable<void> handle_get_object(Ctx& c);    // get_object.cpp (GetObject, HeadObject)
asio::awaitable<void> handle_delete_op(Ctx& c);     // delete_ops.cpp (DeleteObject, DeleteObjects)
asio::awaitable<void> handle_copy_object(Ctx& c);   // copy_object.cpp
asio::awaitable<void> handle_multipart_op(Ctx& c);  // multipart_ops.cpp
asio::awaitable<void> handle_tagging_op(Ctx& c);    // tagging_ops.cpp
asio::awaitable<void> handle_cors_op(Ctx& c);       // cors_ops.cpp (bucket CORS config + preflight)
asio::awaitable<void> handle_acl_op(Ctx& c);        // bucket_ops.cpp

// Looks up the operation's bucket for the caller; answers the error itself and returns nullopt.
asio::awaitable<std::optional<storage::Bucket>> require_bucket(Ctx& c);

}  // namespace depot::s3
