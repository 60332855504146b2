// DeleteObject and DeleteObjects (up to 1000 keys, quiet mode, Content-MD5 or checksum).
#include "protocols/s3/body.hpp"
#include "protocols/s3/context.hpp"
#include "protocols/s3/object_headers.hpp"
#include "protocols/s3/xml.hpp"
#include "src/http/semantics.hpp"
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
  // S3 requires the body's integrity to be declared: Content-MD5, or a checksum (a header, a
  // trailer, or the algorithm the SDK computes it with). RequestBody verifies whichever came.
  bool declared = std::get<std::optional<std::string>>(md5).has_value() || !c.header("x-amz-trailer").empty() ||
                  !c.header("x-amz-sdk-checksum-algorithm").empty();
  for (const auto& f : c.ex.request())
    declared = declared || (f.name_string().size() > 15 && boost::beast::iequals(f.name_string().substr(0, 15), "x-amz-checksum-"));
  if (!declared)
    co_return co_await respond_error(
        c, s3_error(400, "InvalidRequest", "Missing required header for this request: Content-MD5 or x-amz-checksum-*"));
  auto body = co_await read_small_body(c, 2 * 1024 * 1024);
  if (!body) co_return;
  if (auto& want = std::get<std::optional<std::string>>(md5); want && *want != crypto::to_hex(crypto::md5(*body)))
    co_return co_await respond_error(c, s3_error(400, "BadDigest", "The Content-MD5 you specified did not match what we received."));
  auto doc = parse_xml(*body, "Delete");
  if (!doc) co_return co_await respond_error(c, malformed_xml());
  auto root = doc->document_element();
  auto quiet_text = child_text(root, "Quiet");
  if (!quiet_text.empty() && quiet_text != "true" && quiet_text != "false")
    co_return co_await respond_error(c, malformed_xml());
  bool quiet = quiet_text == "true";
  std::vector<std::string> keys;
  std::vector<std::optional<std::string>> if_match;  // the <ETag> of each key: delete only that version of it
  std::vector<bool> bad_version;                      // a <VersionId> other than "null": no such version here
  for (auto n : root.children()) {
    std::string_view name = n.name();
    if (auto colon = name.find(':'); colon != std::string_view::npos) name.remove_prefix(colon + 1);
    if (name != "Object") continue;
    auto k = child(n, "Key");
    if (!k) co_return co_await respond_error(c, malformed_xml());
    keys.emplace_back(k.child_value());
    if (auto e = child(n, "ETag")) if_match.emplace_back(std::string(http::unquote_etag(e.child_value())));
    else if_match.emplace_back();
    auto v = child(n, "VersionId");
    bad_version.push_back(v && std::string_view(v.child_value()) != "null");
  }
  if (keys.empty() || keys.size() > 1000) co_return co_await respond_error(c, malformed_xml());
  // Keys naming a version that cannot exist are left alone (buckets are unversioned: each
  // object's one version is "null"), as DeleteObject refuses such an id.
  std::vector<std::string> asked;
  std::vector<std::optional<std::string>> asked_match;
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (!bad_version[i]) {
      asked.push_back(keys[i]);
      asked_match.push_back(if_match[i]);
    }
  const storage::BucketId bid = b.id;
  storage::KeysHook props = [bid](pqxx::transaction_base& w, const std::vector<std::string>& gone) {
    storage::DavStore::delete_props_of_in(w, bid, gone);
  };
  auto res = co_await c.app.engine.delete_objects(b, asked, props, std::move(asked_match));
  if (!res) co_return co_await respond_error(c, from_engine(res.error()));
  XmlDoc out("DeleteResult");
  std::size_t next = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::optional<S3Error> failed;
    if (bad_version[i]) {
      failed = s3_error(400, "InvalidArgument", "Invalid version id specified");
    } else {
      auto& r = (*res)[next++];
      if (!r) {
        failed = from_engine(r.error(), Subject::object);
        // A condition on a key with no object fails as the condition (as DeleteObject answers).
        if (r.code() == Errc::no_such_key && if_match[i])
          failed = s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
      }
    }
    if (!failed) {
      if (!quiet) out.root().add("Deleted").add("Key", keys[i]);
      continue;
    }
    auto x = out.root().add("Error");
    x.add("Key", keys[i]);
    x.add("Code", failed->code);
    x.add("Message", failed->message);
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
