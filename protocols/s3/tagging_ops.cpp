// Object and bucket tagging (Get/Put/Delete), with S3's limits on tags.
#include "protocols/s3/tagging.hpp"

#include "protocols/s3/body.hpp"
#include "protocols/s3/context.hpp"
#include "protocols/s3/xml.hpp"
#include "src/http/semantics.hpp"
#include "src/utf8.hpp"
#include "storage/s3_config_store.hpp"

namespace depot::s3 {
namespace {

S3Error invalid_tag(std::string msg) { return s3_error(400, "InvalidTag", std::move(msg)); }

std::optional<std::string> form_decode(std::string_view v) {
  std::string plus(v);
  for (auto& ch : plus)
    if (ch == '+') ch = ' ';
  return http::percent_decode(plus);
}

}  // namespace

std::optional<S3Error> check_tags(const storage::TagMap& tags, std::size_t max_tags) {
  for (auto& [k, v] : tags) {
    // Tags are UTF-8 text without control characters (the header's percent-decoding could give
    // anything; GetObjectTagging must be able to return them in XML).
    if (k.empty() || !valid_utf8(k) || has_control_chars(k)) return invalid_tag("The TagKey you have provided is invalid");
    if (!valid_utf8(v) || has_control_chars(v)) return invalid_tag("The TagValue you have provided is invalid");
    if (utf8_length(k) > 128) return invalid_tag("The TagKey you have provided is too long, max 128");
    if (utf8_length(v) > 256) return invalid_tag("The TagValue you have provided is too long, max 256");
    if (k.starts_with("aws:")) return invalid_tag("System tags cannot be added/updated by requester");
  }
  if (tags.size() > max_tags)
    return invalid_tag(std::string(max_tags == kMaxObjectTags ? "Object" : "Bucket") + " tags cannot be greater than " +
                       std::to_string(max_tags));
  return std::nullopt;
}

std::variant<storage::TagMap, S3Error> tagging_header(const Ctx& c) { return parse_tagging_header(c.header("x-amz-tagging")); }

std::variant<storage::TagMap, S3Error> parse_tagging_header(std::string_view h) {
  storage::TagMap tags;
  auto malformed = s3_error(400, "InvalidArgument",
                            "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "
                            "without tag name duplicates.");
  while (!h.empty()) {
    auto amp = h.find('&');
    auto pair = h.substr(0, amp);
    h = amp == std::string_view::npos ? std::string_view() : h.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto k = form_decode(pair.substr(0, eq));
    auto v = form_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!k || !v) return malformed;
    if (!tags.emplace(*k, *v).second) return malformed;
  }
  if (auto e = check_tags(tags, kMaxObjectTags)) return *e;
  return tags;
}

namespace {

// Parses <Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>.
std::variant<storage::TagMap, S3Error> parse_tagging(const std::string& body, std::size_t max_tags) {
  auto doc = parse_xml(body, "Tagging");
  if (!doc) return malformed_xml();
  auto set = child(doc->document_element(), "TagSet");
  if (!set) return malformed_xml();
  storage::TagMap tags;
  for (auto t : set.children()) {
    if (t.type() != pugi::node_element) continue;
    if (!child(t, "Key") || !child(t, "Value")) return malformed_xml();
    std::string k = child_text(t, "Key"), v = child_text(t, "Value");
    if (k.empty()) return invalid_tag("The TagKey you have provided is invalid");
    if (!tags.emplace(k, v).second) return invalid_tag("Cannot provide multiple Tags with the same key");
  }
  if (auto e = check_tags(tags, max_tags)) return *e;
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
      auto parsed = parse_tagging(*body, object ? kMaxObjectTags : kMaxBucketTags);
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
