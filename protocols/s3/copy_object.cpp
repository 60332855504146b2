// CopyObject: shares the source blob (no data copied); COPY/REPLACE metadata directive;
// copy-source conditionals; self-copy only with REPLACE.
#include "protocols/s3/copy_source.hpp"
#include "protocols/s3/object_headers.hpp"
#include "protocols/s3/tagging.hpp"
#include "protocols/s3/xml.hpp"
#include "src/crypto/checksum.hpp"
#include "src/http/semantics.hpp"
#include "storage/multipart_store.hpp"
#include "storage/s3_config_store.hpp"

namespace depot::s3 {

asio::awaitable<std::optional<CopySource>> resolve_copy_source(Ctx& c) {
  std::string_view raw = c.header("x-amz-copy-source");
  if (auto q = raw.find('?'); q != std::string_view::npos) {
    auto rest = raw.substr(q + 1);
    raw = raw.substr(0, q);
    if (rest.starts_with("versionId=") && rest != "versionId=null") {
      co_await respond_error(c, s3_error(400, "InvalidArgument", "Only the version null exists in an unversioned bucket."));
      co_return std::nullopt;
    }
  }
  // A source that does not decode names no key (the literal text would name another one).
  auto decoded = http::percent_decode(raw);
  if (!decoded) {
    co_await respond_error(c, s3_error(400, "InvalidArgument", "The copy source is not a valid percent-encoded bucket and key."));
    co_return std::nullopt;
  }
  std::string src = std::move(*decoded);
  if (!http::valid_utf8(src)) {
    co_await respond_error(c, s3_error(400, "InvalidArgument", "The copy source is not valid UTF-8."));
    co_return std::nullopt;
  }
  if (!src.empty() && src.front() == '/') src.erase(0, 1);
  auto slash = src.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == src.size()) {
    co_await respond_error(c, s3_error(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"));
    co_return std::nullopt;
  }
  auto b = co_await c.app.engine.get_bucket(c.user, src.substr(0, slash));
  if (!b) {
    co_await respond_error(c, from_engine(b.error(), Subject::bucket));
    co_return std::nullopt;
  }
  auto o = co_await c.app.engine.head_object(*b, src.substr(slash + 1));
  if (!o) {
    co_await respond_error(c, from_engine(o.error(), Subject::object));
    co_return std::nullopt;
  }
  // Conditionals on the source: a failure is 412 for a copy.
  bool ok = true;
  if (auto v = c.header("x-amz-copy-source-if-match"); !v.empty()) {
    bool match = false;
    std::string_view list = v;
    while (!list.empty()) {
      auto comma = list.find(',');
      auto tag = list.substr(0, comma);
      while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
      while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
      if (tag == "*" || http::unquote_etag(tag) == o->etag) match = true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    ok = ok && match;
  }
  if (auto v = c.header("x-amz-copy-source-if-none-match"); !v.empty())
    ok = ok && !(v == "*" || http::unquote_etag(v) == o->etag);
  // The date conditions count only without their tag counterparts (as RFC 9110 13.2.2 orders
  // them, and as AWS documents for copies: if-match true with if-unmodified-since false copies).
  if (auto v = c.header("x-amz-copy-source-if-unmodified-since"); !v.empty() && c.header("x-amz-copy-source-if-match").empty())
    if (auto t = http::parse_http_date(v)) ok = ok && std::chrono::floor<std::chrono::seconds>(o->modified) <= *t;
  if (auto v = c.header("x-amz-copy-source-if-modified-since"); !v.empty() && c.header("x-amz-copy-source-if-none-match").empty())
    if (auto t = http::parse_http_date(v)) ok = ok && std::chrono::floor<std::chrono::seconds>(o->modified) > *t;
  if (!ok) {
    co_await respond_error(c, s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"));
    co_return std::nullopt;
  }
  co_return CopySource{std::move(b.value()), std::move(o.value())};
}

asio::awaitable<void> handle_copy_object(Ctx& c) {
  auto dst = co_await require_bucket(c);
  if (!dst) co_return;
  auto src = co_await resolve_copy_source(c);
  if (!src) co_return;
  storage::CopyOptions opts;
  auto directive = c.header("x-amz-metadata-directive");
  if (directive == "REPLACE") {
    opts.directive = storage::MetadataDirective::replace;
  } else if (!directive.empty() && directive != "COPY") {
    co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Unknown metadata directive."));
  }
  auto po = put_options_from_request(c);
  if (auto* e = std::get_if<S3Error>(&po)) co_return co_await respond_error(c, *e);
  // x-amz-tagging-directive: COPY (the default) gives the copy the source's tags, REPLACE the
  // ones of x-amz-tagging (none when absent).
  auto tag_directive = c.header("x-amz-tagging-directive");
  bool replace_tags = tag_directive == "REPLACE";
  if (!replace_tags && !tag_directive.empty() && tag_directive != "COPY")
    co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Unknown tagging directive."));
  storage::TagMap tags;
  if (replace_tags) {
    auto tagging = tagging_header(c);
    if (auto* e = std::get_if<S3Error>(&tagging)) co_return co_await respond_error(c, *e);
    tags = std::move(std::get<storage::TagMap>(tagging));
  } else {
    auto src_tags = co_await c.s3config->object_tags(src->bucket.id, src->object.key);
    if (src_tags) tags = std::move(src_tags.value());
  }
  opts.dest_conditions = std::get<storage::PutOptions>(po).conditions;
  if (opts.directive == storage::MetadataDirective::replace) opts.replacement = std::get<storage::PutOptions>(po);
  // x-amz-checksum-algorithm: the copy gets a full-object checksum of that algorithm (AWS's way
  // to add one to an object: copy it onto itself), from the source's when it has one, else
  // computed from the source's bytes.
  if (auto alg_name = c.header("x-amz-checksum-algorithm"); !alg_name.empty()) {
    auto alg = crypto::parse_algorithm(alg_name);
    if (!alg || *alg == crypto::Algorithm::md5)
      co_return co_await respond_error(c, s3_error(400, "InvalidRequest", "Checksum algorithm provided is unsupported."));
    std::string name = crypto::algorithm_name(*alg);
    const auto& have = src->object.checksums;
    auto it = have.find(name);
    auto type = have.find("type");
    if (it != have.end() && (type == have.end() || type->second == "FULL_OBJECT")) {
      opts.checksums = std::map<std::string, std::string>{{name, it->second}, {"type", "FULL_OBJECT"}};
    } else {
      Result<std::unique_ptr<storage::BlobReader>> reader = make_error(Errc::internal, "unopened");
      const auto size = static_cast<std::uint64_t>(src->object.size);
      if (src->object.parts > 0) reader = co_await storage::open_multipart_object(c.app.db, c.app.blobs, src->object, 0, size);
      else reader = co_await c.app.engine.open_object(src->object, 0, size);
      if (!reader) co_return co_await respond_error(c, from_engine(reader.error(), Subject::object));
      auto hasher = crypto::make_hasher(*alg);
      std::vector<char> buf(256 * 1024);
      std::uint64_t got = 0;
      for (;;) {
        std::size_t k = co_await (*reader)->read(buf.data(), buf.size());
        if (k == 0) break;
        got += k;
        hasher->update(buf.data(), k);
      }
      if (got != size) co_return co_await respond_error(c, from_engine(make_error(Errc::internal, "short copy source")));
      opts.checksums = std::map<std::string, std::string>{{name, crypto::base64_encode(hasher->finish())}, {"type", "FULL_OBJECT"}};
    }
  }
  bool self = src->bucket.id == dst->id && src->object.key == c.op.key;
  if (self && opts.directive == storage::MetadataDirective::copy && !opts.checksums)
    co_return co_await respond_error(
        c, s3_error(400, "InvalidRequest",
                    "This copy request is illegal because it is trying to copy an object to itself without changing "
                    "the object's metadata, storage class, website redirect location or encryption attributes."));
  opts.source_etag = src->object.etag;
  auto r = co_await c.app.engine.copy_object(c.user, src->bucket, src->object.key, *dst, c.op.key, std::move(opts));
  if (!r) co_return co_await respond_error(c, from_engine(r.error(), Subject::object));
  // The copy's row starts untagged (a self-copy keeps its row and tags): set the tags it gets.
  if (!tags.empty() || (self && replace_tags)) {
    auto tagged = co_await c.s3config->set_object_tags(dst->id, c.op.key, std::move(tags), r->blob_id);
    if (!tagged && tagged.code() != Errc::no_such_key)  // replaced since by a newer write: moot
      co_return co_await respond_error(c, from_engine(tagged.error(), Subject::object));
  }
  XmlDoc doc("CopyObjectResult");
  doc.root().add("LastModified", http::format_iso8601(r->modified));
  doc.root().add("ETag", quote_etag(r->etag));
  for (auto& [alg, v] : r->checksums) {
    if (alg == "type") doc.root().add("ChecksumType", v);
    else if (alg != "MD5") doc.root().add("Checksum" + alg, v);
  }
  co_await respond_xml(c, doc.str());
}

}  // namespace depot::s3
