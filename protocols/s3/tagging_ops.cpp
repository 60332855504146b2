// Object and bucket tagging (Get/Put/Delete), with S3's limits on tags.
#include "protocols/s3/body.hpp"
#include "protocols/s3/context.hpp"
#include "protocols/s3/xml.hpp"
#include "storage/s3_config_store.hpp"

namespace depot::s3 {
namespace {

S3Error invalid_tag(std::string msg) { return s3_error(400, "InvalidTag", std::move(msg)); }

// Parses <Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>.
std::variant<storage::TagMap, S3Error> parse_tagging(const std::string& body, std::size_t max_tags) {
  auto doc = parse_xml(body);
  if (!doc) return s3_error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
  auto set = child(doc->document_element(), "TagSet");
  storage::TagMap tags;
  for (auto t : set.children()) {
    if (t.type() != pugi::node_element) continue;
    std::string k = child_text(t, "Key"), v = child_text(t, "Value");
    if (k.empty() || k.size() > 128) return invalid_tag("The TagKey you have provided is invalid");
    if (v.size() > 256) return invalid_tag("The TagValue you have provided is invalid");
    if (k.starts_with("aws:")) return invalid_tag("System tags cannot be added/updated by requester");
    if (!tags.emplace(k, v).second) return invalid_tag("Cannot provide multiple Tags with the same key");
  }
  if (tags.size() > max_tags) return invalid_tag("Object tags cannot be greater than " + std::to_string(max_tags));
  return tags;
}

std::string tagging_xml(const storage::TagMap& tags) {
  XmlDoc doc("Tagging");
  auto set = doc.root().add("TagSet");
  for (auto& [k, v] : tags) {
    auto t = set.add("Tag");
    t.add("Key", k);
    t.add("Value", v);
  }
  return doc.str();
}

}  // namespace

asio::awaitable<void> handle_tagging_op(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  auto& store = *c.s3config;
  bool object = !c.op.key.empty();
  switch (c.op.op) {
    case Op::GetObjectTagging: {
      auto tags = co_await store.object_tags(b->id, c.op.key);
      if (!tags) co_return co_await respond_error(c, from_engine(tags.error(), Subject::object));
      co_return co_await respond_xml(c, tagging_xml(*tags));
    }
    case Op::GetBucketTagging: {
      auto tags = co_await store.bucket_tags(b->id);
      if (!tags) co_return co_await respond_error(c, s3_error(404, "NoSuchTagSet", "The TagSet does not exist"));
      co_return co_await respond_xml(c, tagging_xml(*tags));
    }
    case Op::PutObjectTagging:
    case Op::PutBucketTagging: {
      auto body = co_await read_small_body(c, 64 * 1024);
      if (!body) co_return;
      auto parsed = parse_tagging(*body, object ? 10 : 50);
      if (auto* e = std::get_if<S3Error>(&parsed)) co_return co_await respond_error(c, *e);
      auto& tags = std::get<storage::TagMap>(parsed);
      if (object) {
        auto r = co_await store.set_object_tags(b->id, c.op.key, std::move(tags));
        if (!r) co_return co_await respond_error(c, from_engine(r.error(), Subject::object));
        co_return co_await respond_empty(c, bhttp::status::ok);
      }
      co_await store.set_bucket_tags(b->id, std::move(tags));
      co_return co_await respond_empty(c, bhttp::status::no_content);
    }
    default: {
      if (object) {
        storage::TagMap none;
        auto r = co_await store.set_object_tags(b->id, c.op.key, std::move(none));
        if (!r) co_return co_await respond_error(c, from_engine(r.error(), Subject::object));
      } else {
        co_await store.set_bucket_tags(b->id, std::nullopt);
      }
      co_return co_await respond_empty(c, bhttp::status::no_content);
    }
  }
}

}  // namespace depot::s3
