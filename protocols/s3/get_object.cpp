// GetObject and HeadObject (Range, partNumber, conditional requests, response-* overrides,
// checksum mode) and GetObjectAttributes.
#include <algorithm>
#include <charconv>
#include <set>

#include "protocols/s3/context.hpp"
#include "protocols/s3/object_headers.hpp"
#include "protocols/s3/xml.hpp"
#include "src/http/semantics.hpp"
#include "src/http/send_blob.hpp"
#include "storage/engine.hpp"
#include "storage/multipart_store.hpp"

namespace depot::s3 {
namespace {

constexpr std::pair<std::string_view, std::string_view> kOverrides[] = {
    {"response-content-type", "content-type"},
    {"response-content-language", "content-language"},
    {"response-expires", "expires"},
    {"response-cache-control", "cache-control"},
    {"response-content-disposition", "content-disposition"},
    {"response-content-encoding", "content-encoding"},
};

void add_checksums(http::ResponseHeader& h, const storage::ObjectInfo& o) {
  for (auto& [alg, v] : o.checksums) {
    if (alg == "type") {
      h.set("x-amz-checksum-type", v);
      continue;
    }
    if (alg == "MD5") continue;
    std::string name = "x-amz-checksum-";
    for (char ch : alg) name += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    h.set(name, v);
  }
}

asio::awaitable<void> attributes(Ctx& c, const storage::ObjectInfo& o) {
  // x-amz-object-attributes: a comma-separated list of these names, required.
  static constexpr std::string_view kNames[] = {"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"};
  std::set<std::string_view> wanted;
  std::string_view list = c.header("x-amz-object-attributes");
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item.empty()) continue;
    auto known = std::find(std::begin(kNames), std::end(kNames), item);
    if (known == std::end(kNames))
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Invalid attribute name specified."));
    wanted.insert(*known);
  }
  if (wanted.empty())
    co_return co_await respond_error(c, s3_error(400, "InvalidArgument",
                                                 "The x-amz-object-attributes header specifying the attributes to be "
                                                 "retrieved is either missing or empty"));
  int marker = 0, max_parts = 1000;
  for (auto [name, out] : {std::pair{"x-amz-part-number-marker", &marker}, std::pair{"x-amz-max-parts", &max_parts}}) {
    auto v = c.header(name);
    if (v.empty()) continue;
    int n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || n < 0)
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", std::string("Invalid ") + name));
    *out = name == std::string_view("x-amz-max-parts") ? std::min(n, 1000) : n;
  }
  auto want = [&](std::string_view a) { return wanted.count(a) > 0; };
  XmlDoc doc("GetObjectAttributesResponse");
  auto r = doc.root();
  if (want("ETag")) r.add("ETag", o.etag);
  if (want("Checksum") && !o.checksums.empty()) {
    auto ck = r.add("Checksum");
    for (auto& [alg, v] : o.checksums) {
      if (alg == "type") ck.add("ChecksumType", v);
      else if (alg != "MD5") ck.add("Checksum" + alg, v);
    }
  }
  if (want("ObjectParts") && o.parts > 0) {
    // A page of the parts (number and size), from after the marker.
    auto p = r.add("ObjectParts");
    p.add("PartsCount", o.parts);
    p.add("PartNumberMarker", marker);
    const int total = static_cast<int>(o.part_sizes.size());
    int last = std::min(total, marker + max_parts);
    if (marker < last) p.add("NextPartNumberMarker", last);
    p.add("MaxParts", max_parts);
    p.add_bool("IsTruncated", last < total);
    for (int i = marker; i < last; ++i) {
      auto part = p.add("Part");
      part.add("PartNumber", i + 1);
      part.add("Size", o.part_sizes[static_cast<std::size_t>(i)]);
    }
  }
  if (want("StorageClass")) r.add("StorageClass", "STANDARD");
  if (want("ObjectSize")) r.add("ObjectSize", o.size);
  auto res = http::make_response(c.ex, bhttp::status::ok, doc.str(), "application/xml");
  res.set(bhttp::field::last_modified, http::format_http_date(o.modified));
  add_cors(c, res.base());
  co_await c.ex.respond(std::move(res));
}

}  // namespace

// retried: the object was looked up again after its blob went between lookup and open (a write
// that replaced or deleted it committed in between): the second lookup finds the new object, or none.
static asio::awaitable<void> get_object(Ctx& c, bool retried) {
  for (auto& [q, name] : kOverrides) {
    if (!c.op.has(q)) continue;
    auto v = c.op.get(q);
    // The value becomes a response header: a line break in it would start a header of the caller's choosing.
    if (has_control_chars(v))
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Header value cannot be represented using ISO-8859-1."));
  }
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  Result<storage::ObjectInfo> found = make_error(Errc::no_such_key, "unset");
  if (c.probed_object) {
    found = std::move(*c.probed_object);
    c.probed_object.reset();
  } else {
    found = co_await c.app.engine.head_object(*b, c.op.key);
  }
  if (!found) co_return co_await respond_error(c, from_engine(found.error(), Subject::object));
  const storage::ObjectInfo& o = *found;
  if (c.op.op == Op::GetObjectAttributes) co_return co_await attributes(c, o);

  // Preconditions, then the range or part.
  switch (http::evaluate_preconditions(c.ex.request(), o.etag, o.modified, true)) {
    case http::Precondition::not_modified: {
      HeaderList h;
      h.emplace_back("ETag", quote_etag(o.etag));
      h.emplace_back("Last-Modified", http::format_http_date(o.modified));
      co_return co_await respond_empty(c, bhttp::status::not_modified, std::move(h));
    }
    case http::Precondition::precondition_failed:
      co_return co_await respond_error(c, s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"));
    case http::Precondition::pass: break;
  }

  std::uint64_t first = 0, length = static_cast<std::uint64_t>(o.size);
  bool partial = false;
  if (c.op.has("partNumber") && !c.header("range").empty())
    co_return co_await respond_error(c, s3_error(400, "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"));
  if (c.op.has("partNumber")) {
    auto v = c.op.get("partNumber");
    int n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || n < 1 || n > 10000)
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"));
    if (o.parts == 0) {
      if (n != 1) co_return co_await respond_error(c, s3_error(416, "InvalidPartNumber", "The requested partnumber is not satisfiable"));
      partial = o.size > 0;  // the whole object is part 1, answered as the range it is (as S3 does)
    } else {
      if (n > static_cast<int>(o.part_sizes.size()))
        co_return co_await respond_error(c, s3_error(416, "InvalidPartNumber", "The requested partnumber is not satisfiable"));
      for (int i = 0; i < n - 1; ++i) first += static_cast<std::uint64_t>(o.part_sizes[i]);
      length = static_cast<std::uint64_t>(o.part_sizes[n - 1]);
      partial = length > 0;  // an empty part has no byte range to name
    }
  } else if (auto range = c.header("range"); !range.empty()) {
    auto rr = http::resolve_range(range, static_cast<std::uint64_t>(o.size));
    if (rr.outcome == http::RangeOutcome::unsatisfiable) {
      S3Error e = s3_error(416, "InvalidRange", "The requested range is not satisfiable");
      e.details = {{"RangeRequested", std::string(range)}, {"ActualObjectSize", std::to_string(o.size)}};
      auto res = http::make_response(c.ex, bhttp::status::range_not_satisfiable, {}, "application/xml");
      if (!c.is_head()) res.body() = error_xml(e, c.op.resource(), c.ex.info().request_id);
      else res.content_length(0);
      res.set(bhttp::field::content_range, "bytes */" + std::to_string(o.size));
      add_cors(c, res.base());
      co_return co_await c.ex.respond(std::move(res));
    }
    if (rr.outcome == http::RangeOutcome::satisfiable) {
      first = rr.range.first;
      length = rr.range.length;
      partial = true;
    }
  }

  http::ResponseHeader h;
  h.result(partial ? bhttp::status::partial_content : bhttp::status::ok);
  h.version(c.ex.request().version());
  add_object_headers(h, o);
  // The parts count answers a request for a part (S3 sends it only then).
  if (o.parts > 0 && c.op.has("partNumber")) h.set("x-amz-mp-parts-count", std::to_string(o.parts));
  if (partial) {
    h.set(bhttp::field::content_range, "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) + "/" +
                                           std::to_string(o.size));
  }
  if (c.header("x-amz-checksum-mode") == "ENABLED" && !partial) add_checksums(h, o);
  for (auto& [q, name] : kOverrides)
    if (c.op.has(q)) h.set(name, c.op.get(q));
  add_cors(c, h);

  if (c.is_head()) {
    http::StringResponse res{std::move(h)};
    res.content_length(length);
    co_await c.ex.respond(std::move(res));
    co_return;
  }
  Result<std::unique_ptr<storage::BlobReader>> reader = make_error(Errc::internal, "unopened");
  if (o.parts > 0)
    reader = co_await storage::open_multipart_object(c.app.db, c.app.blobs, o, first, length);
  else
    reader = co_await c.app.engine.open_object(o, first, length);
  if (!reader && reader.code() == Errc::not_found && !retried) co_return co_await get_object(c, true);
  if (!reader) co_return co_await respond_error(c, from_engine(reader.error()));
  co_await c.ex.begin_response(std::move(h), length);
  co_await http::send_blob_body(c.ex, **reader, length, "object " + o.key);
}

asio::awaitable<void> handle_get_object(Ctx& c) { return get_object(c, false); }

}  // namespace depot::s3
