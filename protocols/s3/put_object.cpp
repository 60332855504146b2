// PutObject: authenticate and reserve quota before the body is read (100-continue comes after),
// then stream the verified body into the engine.
#include "protocols/s3/body.hpp"
#include "protocols/s3/context.hpp"
#include "protocols/s3/object_headers.hpp"
#include "protocols/s3/tagging.hpp"
#include "storage/s3_config_store.hpp"
#include "storage/engine.hpp"

namespace depot::s3 {

asio::awaitable<void> handle_put_object(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  auto opts = put_options_from_request(c);
  if (auto* e = std::get_if<S3Error>(&opts)) co_return co_await respond_error(c, *e);
  auto tagging = tagging_header(c);
  if (auto* e = std::get_if<S3Error>(&tagging)) co_return co_await respond_error(c, *e);
  auto& tags = std::get<storage::TagMap>(tagging);
  auto md5 = content_md5_hex(c);
  if (auto* e = std::get_if<S3Error>(&md5)) co_return co_await respond_error(c, *e);
  auto made = RequestBody::make(c);
  if (auto* e = std::get_if<S3Error>(&made)) co_return co_await respond_error(c, *e);
  auto& body = *std::get<std::unique_ptr<RequestBody>>(made);

  auto& po = std::get<storage::PutOptions>(opts);
  po.expected_md5_hex = std::get<std::optional<std::string>>(md5);
  po.declared_size = body.size();
  po.known_usage = std::move(c.probed_usage);
  if (c.probe_skipped) {
    po.verify_access_key = c.access_key;
    po.known_usage_may_be_stale = true;
  }
  if (body.size() && *body.size() > 5ull * 1024 * 1024 * 1024)
    co_return co_await respond_error(c, s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"));

  auto ticket = co_await c.app.engine.begin_put(c.user, *b, c.op.key, std::move(po));
  if (!ticket) co_return co_await respond_error(c, from_engine(ticket.error(), Subject::object));
  auto info = co_await c.app.engine.finish_put(std::move(ticket.value()), body);
  if (!info) {
    if (c.forget_probe && (info.code() == Errc::access_denied || info.code() == Errc::no_such_bucket)) c.forget_probe();
    if (body.failure()) co_return co_await respond_error(c, *body.failure());
    co_return co_await respond_error(c, from_engine(info.error(), Subject::object));
  }
  if (!tags.empty()) {
    // The new row starts untagged; its tags follow in their own transaction, unless a newer write
    // replaced the object meanwhile (this one was stored, and superseded: its tags are moot).
    auto tagged = co_await c.s3config->set_object_tags(b->id, c.op.key, std::move(tags), info->blob_id);
    if (!tagged && tagged.code() != Errc::no_such_key)
      co_return co_await respond_error(c, from_engine(tagged.error(), Subject::object));
  }
  HeaderList h;
  h.emplace_back("ETag", quote_etag(info->etag));
  for (auto& [alg, v] : info->checksums) {
    if (alg == "type") {
      h.emplace_back("x-amz-checksum-type", v);  // FULL_OBJECT: one body, one checksum
      continue;
    }
    std::string name = "x-amz-checksum-";
    for (char ch : alg) name += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    h.emplace_back(name, v);
  }
  co_await respond_empty(c, bhttp::status::ok, std::move(h));
}

}  // namespace depot::s3
