// DeleteObject and DeleteObjects (up to 1000 keys, quiet mode, Content-MD5 or checksum).
#include "protocols/s3/body.hpp"
#include "protocols/s3/context.hpp"
#include "protocols/s3/object_headers.hpp"
#include "protocols/s3/xml.hpp"
#include "storage/dav_store.hpp"
#include "storage/engine.hpp"

namespace depot::s3 {
namespace {

asio::awaitable<void> delete_object(Ctx& c, const storage::Bucket& b) {
  auto cond = write_conditions(c);
  if (auto* e = std::get_if<S3Error>(&cond)) co_return co_await respond_error(c, *e);
  // WebDAV dead properties of the key go with it (a key made again later starts bare).
  // (Hooks are named locals: GCC 12 and lambda temporaries inside co_await do not mix.)
  const storage::BucketId bid = b.id;
  const std::string key = c.op.key;
  storage::TxHook props = [bid, key](pqxx::transaction_base& w) { storage::DavStore::delete_props_in(w, bid, key, false); };
  auto r = co_await c.app.engine.delete_object(b, c.op.key, std::get<storage::WriteConditions>(cond), props);
  if (!r && r.code() != Errc::no_such_key) co_return co_await respond_error(c, from_engine(r.error(), Subject::object));
  if (!r) co_return co_await respond_error(c, s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"));
  co_await respond_empty(c, bhttp::status::no_content);
}

asio::awaitable<void> delete_objects(Ctx& c, const storage::Bucket& b) {
  auto md5 = content_md5_hex(c);
  if (auto* e = std::get_if<S3Error>(&md5)) co_return co_await respond_error(c, *e);
  auto body = co_await read_small_body(c, 2 * 1024 * 1024);
  if (!body) co_return;
  if (auto& want = std::get<std::optional<std::string>>(md5); want && *want != crypto::to_hex(crypto::md5(*body)))
    co_return co_await respond_error(c, s3_error(400, "BadDigest", "The Content-MD5 you specified did not match what we received."));
  auto doc = parse_xml(*body, "Delete");
  if (!doc) co_return co_await respond_error(c, malformed_xml());
  auto root = doc->document_element();
  bool quiet = child_text(root, "Quiet") == "true";
  std::vector<std::string> keys;
  for (auto n : root.children()) {
    std::string_view name = n.name();
    if (auto colon = name.find(':'); colon != std::string_view::npos) name.remove_prefix(colon + 1);
    if (name != "Object") continue;
    auto k = child(n, "Key");
    if (!k) co_return co_await respond_error(c, malformed_xml());
    keys.emplace_back(k.child_value());
  }
  if (keys.empty() || keys.size() > 1000) co_return co_await respond_error(c, malformed_xml());
  const storage::BucketId bid = b.id;
  storage::TxHook props = [bid, &keys](pqxx::transaction_base& w) { storage::DavStore::delete_props_of_in(w, bid, keys); };
  auto res = co_await c.app.engine.delete_objects(b, keys, props);
  if (!res) co_return co_await respond_error(c, from_engine(res.error()));
  XmlDoc out("DeleteResult");
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto& r = (*res)[i];
    if (r) {
      if (!quiet) out.root().add("Deleted").add("Key", keys[i]);
    } else {
      auto e = from_engine(r.error(), Subject::object);
      auto x = out.root().add("Error");
      x.add("Key", keys[i]);
      x.add("Code", e.code);
      x.add("Message", e.message);
    }
  }
  co_await respond_xml(c, out.str());
}

}  // namespace

asio::awaitable<void> handle_delete_op(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  if (c.op.op == Op::DeleteObjects) co_return co_await delete_objects(c, *b);
  co_await delete_object(c, *b);
}

}  // namespace depot::s3
