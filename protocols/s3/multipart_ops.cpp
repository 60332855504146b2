// Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
// ListMultipartUploads. Parts are blobs; completing writes one object over them, copying nothing.
#include <boost/algorithm/string/predicate.hpp>
#include <charconv>

#include "protocols/s3/body.hpp"
#include "protocols/s3/context.hpp"
#include "protocols/s3/copy_source.hpp"
#include "protocols/s3/object_headers.hpp"
#include "protocols/s3/tagging.hpp"
#include "protocols/s3/xml.hpp"
#include "src/crypto/md5_stream.hpp"
#include "src/http/semantics.hpp"
#include "storage/multipart_store.hpp"
#include "storage/quota.hpp"

namespace depot::s3 {
namespace {

constexpr std::uint64_t kMaxPartBytes = 5ull * 1024 * 1024 * 1024;

S3Error no_such_upload() { return from_engine(make_error(Errc::not_found, ""), Subject::upload); }

// "Code: message" errors from the store become that S3 code.
S3Error store_error(const Error& e) {
  if (e.code == Errc::invalid_argument) {
    auto colon = e.message.find(": ");
    if (colon != std::string::npos) return s3_error(400, e.message.substr(0, colon), e.message.substr(colon + 2));
  }
  if (e.code == Errc::not_found) return no_such_upload();
  return from_engine(e, Subject::object);
}

std::optional<int> parse_int(const std::string& v) {
  int n = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size()) return std::nullopt;
  return n;
}

void add_owner(XmlNode n, const char* name, const Ctx& c) {
  auto o = n.add(name);
  o.add("ID", c.user_name);
  o.add("DisplayName", c.user_name);
}

asio::awaitable<std::optional<storage::UploadInfo>> require_upload(Ctx& c, const storage::Bucket& b) {
  auto u = co_await c.multipart->get(b.id, c.op.key, c.op.get("uploadId"));
  if (!u) {
    co_await respond_error(c, no_such_upload());
    co_return std::nullopt;
  }
  co_return std::move(u.value());
}

asio::awaitable<void> create_upload(Ctx& c, const storage::Bucket& b) {
  if (c.op.key.size() > storage::Engine::max_key_bytes)
    co_return co_await respond_error(c, s3_error(400, "KeyTooLongError", "Your key is too long"));
  auto po = put_options_from_request(c);
  if (auto* e = std::get_if<S3Error>(&po)) co_return co_await respond_error(c, *e);
  auto& opts = std::get<storage::PutOptions>(po);
  auto tagging = tagging_header(c);
  if (auto* e = std::get_if<S3Error>(&tagging)) co_return co_await respond_error(c, *e);
  storage::UploadInfo u;
  u.tags = std::move(std::get<storage::TagMap>(tagging));
  u.bucket = b.id;
  u.key = c.op.key;
  u.user = b.owner;
  u.content_type = opts.content_type;
  u.user_meta = opts.user_meta;
  u.headers = opts.headers;
  if (auto alg = c.header("x-amz-checksum-algorithm"); !alg.empty()) {
    auto a = crypto::parse_algorithm(alg);
    if (!a || *a == crypto::Algorithm::md5)
      co_return co_await respond_error(c, s3_error(400, "InvalidRequest", "Checksum algorithm provided is unsupported."));
    u.checksum_algorithm = crypto::algorithm_name(*a);
    u.checksum_type = std::string(c.header("x-amz-checksum-type"));
    // CRC64NVME is always a full-object checksum; the others default to COMPOSITE.
    if (u.checksum_type.empty()) u.checksum_type = *a == crypto::Algorithm::crc64nvme ? "FULL_OBJECT" : "COMPOSITE";
    if (u.checksum_type == "COMPOSITE" && *a == crypto::Algorithm::crc64nvme)
      co_return co_await respond_error(c, s3_error(400, "InvalidRequest", "The COMPOSITE checksum type cannot be used with the "
                                                                          "crc64nvme checksum algorithm."));
    if (u.checksum_type != "COMPOSITE" && u.checksum_type != "FULL_OBJECT")
      co_return co_await respond_error(c, s3_error(400, "InvalidRequest", "Value for x-amz-checksum-type header is invalid."));
    // A whole object's checksum can be derived from its parts' only for the CRCs.
    if (u.checksum_type == "FULL_OBJECT" && (*a == crypto::Algorithm::sha1 || *a == crypto::Algorithm::sha256))
      co_return co_await respond_error(c, s3_error(400, "InvalidRequest", "The FULL_OBJECT checksum type cannot be used with the " +
                                                                             u.checksum_algorithm + " checksum algorithm."));
  }
  auto created = co_await c.multipart->create(std::move(u));
  if (!created) co_return co_await respond_error(c, from_engine(created.error()));
  XmlDoc doc("InitiateMultipartUploadResult");
  doc.root().add("Bucket", b.name);
  doc.root().add("Key", c.op.key);
  doc.root().add("UploadId", created->id);
  auto res = http::make_response(c.ex, bhttp::status::ok, doc.str(), "application/xml");
  if (!created->checksum_algorithm.empty()) {
    res.set("x-amz-checksum-algorithm", created->checksum_algorithm);
    res.set("x-amz-checksum-type", created->checksum_type);
  }
  add_cors(c, res.base());
  co_await c.ex.respond(std::move(res));
}

std::optional<int> part_number(const Ctx& c) {
  auto n = parse_int(c.op.get("partNumber"));
  if (!n || *n < 1 || *n > storage::MultipartStore::kMaxParts) return std::nullopt;
  return n;
}

S3Error bad_part_number() {
  return s3_error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
}

// Streams src into a new part blob, computing its MD5. Throws BodyError from src.
// sum: an algorithm to compute the part's checksum with (the upload's, when the client sent none).
asio::awaitable<Result<storage::PartInfo>> write_part_blob(Ctx& c, storage::BodySource& src, std::uint64_t limit,
                                                           std::optional<crypto::Algorithm> sum = std::nullopt) {
  auto writer = c.app.blobs.create(limit);
  storage::UploadBuffer buf(limit);
  crypto::Md5Stream md5;  // after buf: may still read it while being destroyed
  std::unique_ptr<crypto::Hasher> sum_hasher;
  if (sum) sum_hasher = crypto::make_hasher(*sum);
  std::uint64_t total = 0;
  for (bool at_end = false; !at_end;) {
    const std::size_t n = co_await src.read_full(buf.data(), buf.size());
    at_end = n < buf.size();
    if (n == 0) break;
    total += n;
    if (total > limit) co_return make_error(Errc::too_large, "the part is larger than announced");
    md5.submit(buf.data(), n);  // hashed while the bytes go to the disk
    if (sum_hasher) sum_hasher->update(buf.data(), n);
    co_await writer->write(buf.data(), n);
    co_await md5.wait();
  }
  auto fin = co_await writer->finish();
  if (!fin) co_return fin.error();
  storage::PartInfo p;
  p.blob_id = writer->id();
  p.size = static_cast<std::int64_t>(total);
  p.etag = crypto::to_hex(md5.finish());
  if (sum_hasher) p.checksum = crypto::base64_encode(sum_hasher->finish());
  co_return p;
}

// The response header naming a checksum algorithm ("CRC32" -> x-amz-checksum-crc32).
std::string checksum_header_of(std::string_view alg) {
  std::string name = "x-amz-checksum-";
  for (char ch : alg) name += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

asio::awaitable<void> upload_part(Ctx& c, const storage::Bucket& b) {
  auto n = part_number(c);
  if (!n) co_return co_await respond_error(c, bad_part_number());
  auto u = co_await require_upload(c, b);
  if (!u) co_return;
  // A part's checksum (header or trailer) must be of the upload's algorithm, when it has one.
  if (!u->checksum_algorithm.empty()) {
    auto trailer = c.header("x-amz-trailer");
    for (auto alg : {"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}) {
      std::string name = "x-amz-checksum-";
      for (const char* ch = alg; *ch; ++ch) name += static_cast<char>(std::tolower(static_cast<unsigned char>(*ch)));
      bool sent = !c.header(name).empty() || boost::iequals(trailer, name);
      if (sent && u->checksum_algorithm != alg)
        co_return co_await respond_error(
            c, s3_error(400, "InvalidRequest", "Checksum Type mismatch occurred, expected checksum Type: " +
                                                   u->checksum_algorithm + ", actual checksum Type: " + alg));
    }
  }
  auto md5 = content_md5_hex(c);
  if (auto* e = std::get_if<S3Error>(&md5)) co_return co_await respond_error(c, *e);
  auto made = RequestBody::make(c);
  if (auto* e = std::get_if<S3Error>(&made)) co_return co_await respond_error(c, *e);
  auto& body = *std::get<std::unique_ptr<RequestBody>>(made);
  std::uint64_t size = body.size().value_or(0);
  if (size > kMaxPartBytes)
    co_return co_await respond_error(c, s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"));
  // Quota before the body: a refused part costs no upload (100-continue comes with the first read).
  auto reservation = co_await c.app.quota.reserve(b.owner, static_cast<std::int64_t>(size));
  if (!reservation) co_return co_await respond_error(c, from_engine(reservation.error()));

  std::optional<S3Error> failed;
  Result<storage::PartInfo> part = make_error(Errc::internal, "unwritten");
  // A part sent without a checksum of the upload's algorithm gets one computed here, so the
  // object's checksum can still be made of its parts'.
  std::optional<crypto::Algorithm> compute;
  if (!u->checksum_algorithm.empty() && !body.algorithm()) compute = crypto::parse_algorithm(u->checksum_algorithm);
  try {
    part = co_await write_part_blob(c, body, size, compute);
  } catch (const BodyError& e) {
    failed = body.failure() ? *body.failure() : from_engine(e.error);
  }
  if (failed) co_return co_await respond_error(c, *failed);
  if (!part) co_return co_await respond_error(c, from_engine(part.error()));
  if (auto& want = std::get<std::optional<std::string>>(md5); want && *want != part->etag) {
    c.app.blobs.remove(part->blob_id);
    co_return co_await respond_error(c, s3_error(400, "BadDigest", "The Content-MD5 you specified did not match what we received."));
  }
  part->number = *n;
  auto sums = body.extra_checksums();
  if (!u->checksum_algorithm.empty()) {
    auto it = sums.find(u->checksum_algorithm);
    if (it != sums.end()) part->checksum = it->second;
    else if (!part->checksum.empty()) sums[u->checksum_algorithm] = part->checksum;
  }
  auto stored = co_await c.multipart->add_part(*u, std::move(part.value()), std::move(reservation.value()));
  if (!stored) co_return co_await respond_error(c, store_error(stored.error()));
  HeaderList h;
  h.emplace_back("ETag", quote_etag(stored->etag));
  for (auto& [alg, v] : sums)
    if (alg != "type") h.emplace_back(checksum_header_of(alg), v);
  co_await respond_empty(c, bhttp::status::ok, std::move(h));
}

class ReaderSource final : public storage::BodySource {
 public:
  explicit ReaderSource(storage::BlobReader& r) : r_(r) {}
  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override { co_return co_await r_.read(buf, n); }
 private:
  storage::BlobReader& r_;
};

asio::awaitable<void> upload_part_copy(Ctx& c, const storage::Bucket& b) {
  auto n = part_number(c);
  if (!n) co_return co_await respond_error(c, bad_part_number());
  auto u = co_await require_upload(c, b);
  if (!u) co_return;
  auto src = co_await resolve_copy_source(c);
  if (!src) co_return;
  std::uint64_t first = 0, length = static_cast<std::uint64_t>(src->object.size);
  if (auto range = c.header("x-amz-copy-source-range"); !range.empty()) {
    // bytes=first-last, both required, within the object.
    std::string_view r = range;
    bool ok = r.starts_with("bytes=");
    std::uint64_t a = 0, z = 0;
    if (ok) {
      r.remove_prefix(6);
      auto dash = r.find('-');
      ok = dash != std::string_view::npos;
      if (ok) {
        auto r1 = std::from_chars(r.data(), r.data() + dash, a);
        auto r2 = std::from_chars(r.data() + dash + 1, r.data() + r.size(), z);
        ok = r1.ec == std::errc{} && r2.ec == std::errc{} && r1.ptr == r.data() + dash && r2.ptr == r.data() + r.size() && a <= z;
      }
    }
    if (!ok)
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"));
    if (z >= length)
      co_return co_await respond_error(c, s3_error(400, "InvalidRange", "The requested range is not satisfiable"));
    first = a;
    length = z - a + 1;
  }
  if (length > kMaxPartBytes)
    co_return co_await respond_error(c, s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"));
  auto reservation = co_await c.app.quota.reserve(b.owner, static_cast<std::int64_t>(length));
  if (!reservation) co_return co_await respond_error(c, from_engine(reservation.error()));
  // A source kept inline in PostgreSQL (tiny) is copied into a part blob; any other source is
  // shared: the part refers to the range of its blob, no byte is written.
  bool share = src->object.parts > 0 || static_cast<std::uint64_t>(src->object.size) > c.app.config.inline_threshold;
  bool whole = first == 0 && length == static_cast<std::uint64_t>(src->object.size);
  Result<storage::PartInfo> part = make_error(Errc::internal, "unwritten");
  if (share) {
    storage::PartInfo p;
    p.shared = true;
    p.blob_id = src->object.blob_id;
    p.offset = static_cast<std::int64_t>(first);
    p.size = static_cast<std::int64_t>(length);
    auto known_sum = u->checksum_algorithm.empty() ? std::optional<std::string>(std::string())
                                                   : std::optional<std::string>();
    if (whole && !u->checksum_algorithm.empty() && src->object.parts == 0) {
      auto it = src->object.checksums.find(u->checksum_algorithm);
      if (it != src->object.checksums.end()) known_sum = it->second;
    }
    bool plain_md5 = src->object.parts == 0 && src->object.etag.size() == 32 &&
                     src->object.etag.find('-') == std::string::npos;
    if (whole && plain_md5 && known_sum) {
      p.etag = src->object.etag;
      p.checksum = *known_sum;
    } else {
      // The part's ETag (and checksum) need its bytes: read them, write nothing.
      Result<std::unique_ptr<storage::BlobReader>> reader = make_error(Errc::internal, "unopened");
      reader = co_await c.app.engine.open_object(src->object, first, length);
      if (!reader) co_return co_await respond_error(c, from_engine(reader.error()));
      auto md5 = crypto::make_hasher(crypto::Algorithm::md5);
      std::unique_ptr<crypto::Hasher> sum;
      if (auto alg = crypto::parse_algorithm(u->checksum_algorithm); alg) sum = crypto::make_hasher(*alg);
      std::vector<char> buf(256 * 1024);
      std::uint64_t got = 0;
      for (;;) {
        std::size_t k = co_await (*reader)->read(buf.data(), buf.size());
        if (k == 0) break;
        got += k;
        md5->update(buf.data(), k);
        if (sum) sum->update(buf.data(), k);
      }
      if (got != length) co_return co_await respond_error(c, from_engine(make_error(Errc::internal, "short copy source")));
      p.etag = crypto::to_hex(md5->finish());
      if (sum) p.checksum = crypto::base64_encode(sum->finish());
    }
    part = std::move(p);
  } else {
    Result<std::unique_ptr<storage::BlobReader>> reader = make_error(Errc::internal, "unopened");
    reader = co_await c.app.engine.open_object(src->object, first, length);
    if (!reader) co_return co_await respond_error(c, from_engine(reader.error()));
    ReaderSource rs(**reader);
    part = co_await write_part_blob(c, rs, length, crypto::parse_algorithm(u->checksum_algorithm));
    if (!part) co_return co_await respond_error(c, from_engine(part.error()));
  }
  part->number = *n;
  auto stored = co_await c.multipart->add_part(*u, std::move(part.value()), std::move(reservation.value()));
  if (!stored) co_return co_await respond_error(c, store_error(stored.error()));
  XmlDoc doc("CopyPartResult");
  doc.root().add("LastModified", http::format_iso8601(stored->modified));
  doc.root().add("ETag", quote_etag(stored->etag));
  if (!u->checksum_algorithm.empty() && !stored->checksum.empty())
    doc.root().add("Checksum" + u->checksum_algorithm, stored->checksum);
  co_await respond_xml(c, doc.str());
}

asio::awaitable<void> complete_result(Ctx& c, const storage::Bucket& b, const storage::ObjectInfo& done) {
  XmlDoc out("CompleteMultipartUploadResult");
  // An absolute URL, as S3 gives, in the style the request came in.
  std::string base = std::string(c.ex.info().tls ? "https://" : "http://") + std::string(c.header("host"));
  out.root().add("Location", c.op.virtual_host ? base + "/" + http::percent_encode(c.op.key, true)
                                               : base + "/" + b.name + "/" + http::percent_encode(c.op.key, true));
  out.root().add("Bucket", b.name);
  out.root().add("Key", c.op.key);
  out.root().add("ETag", quote_etag(done.etag));
  for (auto& [alg, v] : done.checksums) {
    if (alg == "type") out.root().add("ChecksumType", v);
    else out.root().add("Checksum" + alg, v);
  }
  co_await respond_xml(c, out.str());
}

asio::awaitable<void> complete_upload(Ctx& c, const storage::Bucket& b) {
  auto found = co_await c.multipart->get(b.id, c.op.key, c.op.get("uploadId"));
  if (!found) {
    // Completed already (a retry whose first answer was lost): the same answer, while the
    // object it made is still the key's.
    auto done = co_await c.multipart->completed(b.id, c.op.key, c.op.get("uploadId"));
    if (done) co_return co_await complete_result(c, b, *done);
    co_return co_await respond_error(c, no_such_upload());
  }
  std::optional<storage::UploadInfo> u = std::move(found.value());
  auto cond = write_conditions(c);
  if (auto* e = std::get_if<S3Error>(&cond)) co_return co_await respond_error(c, *e);
  // Its x-amz-checksum-* header is the whole object's checksum, not this XML body's.
  auto body = co_await read_small_body(c, 4 * 1024 * 1024, false);
  if (!body) co_return;
  storage::CompleteChecks checks;
  for (auto alg : {"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"})
    if (auto v = c.header(checksum_header_of(alg)); !v.empty()) {
      if (!checks.checksum.empty())
        co_return co_await respond_error(c, s3_error(400, "InvalidRequest", "Expecting a single x-amz-checksum- header. "
                                                                            "Multiple checksum Types are not allowed."));
      checks.algorithm = alg;
      checks.checksum = std::string(v);
    }
  checks.type = std::string(c.header("x-amz-checksum-type"));
  if (auto sz = c.header("x-amz-mp-object-size"); !sz.empty()) {
    std::int64_t n = -1;
    auto r = std::from_chars(sz.data(), sz.data() + sz.size(), n);
    if (r.ec != std::errc{} || r.ptr != sz.data() + sz.size() || n < 0)
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Value for x-amz-mp-object-size header is invalid."));
    checks.size = n;
  }
  auto malformed = malformed_xml();
  auto doc = parse_xml(*body, "CompleteMultipartUpload");
  if (!doc) co_return co_await respond_error(c, malformed);
  std::vector<storage::CompletePart> parts;
  const std::string sum_element = u->checksum_algorithm.empty() ? std::string() : "Checksum" + u->checksum_algorithm;
  for (auto p : doc->document_element().children()) {
    std::string_view name = p.name();
    if (auto colon = name.find(':'); colon != std::string_view::npos) name.remove_prefix(colon + 1);
    if (name != "Part") continue;
    auto num = parse_int(child_text(p, "PartNumber"));
    if (!num) co_return co_await respond_error(c, malformed);
    parts.push_back({*num, std::string(http::unquote_etag(child_text(p, "ETag"))),
                     sum_element.empty() ? std::string() : child_text(p, sum_element)});
  }
  if (parts.empty())
    co_return co_await respond_error(c, malformed_xml());
  if (parts.size() > static_cast<std::size_t>(storage::MultipartStore::kMaxParts))
    co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"));
  auto done = co_await c.multipart->complete(b, *u, std::move(parts), std::get<storage::WriteConditions>(cond),
                                             std::move(checks));
  if (!done && done.code() == Errc::not_found) {
    // Another Complete of the upload committed while this one waited for it.
    auto first = co_await c.multipart->completed(b.id, c.op.key, u->id);
    if (first) co_return co_await complete_result(c, b, *first);
  }
  if (!done) co_return co_await respond_error(c, store_error(done.error()));
  co_await complete_result(c, b, *done);
}

asio::awaitable<void> abort_upload(Ctx& c, const storage::Bucket& b) {
  auto u = co_await require_upload(c, b);
  if (!u) co_return;
  auto r = co_await c.multipart->abort(b, *u);
  if (!r) co_return co_await respond_error(c, store_error(r.error()));
  co_await respond_empty(c, bhttp::status::no_content);
}

asio::awaitable<void> list_parts(Ctx& c, const storage::Bucket& b) {
  auto u = co_await require_upload(c, b);
  if (!u) co_return;
  int marker = 0, max_parts = 1000;
  if (c.op.has("part-number-marker")) {
    auto m = parse_int(c.op.get("part-number-marker"));
    if (!m || *m < 0) co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Invalid part-number-marker"));
    marker = *m;
  }
  if (c.op.has("max-parts")) {
    auto m = parse_int(c.op.get("max-parts"));
    if (!m || *m < 0) co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Invalid max-parts"));
    max_parts = std::min(*m, 1000);
  }
  auto parts = co_await c.multipart->list_parts(u->id, marker, max_parts);
  if (!parts) co_return co_await respond_error(c, store_error(parts.error()));
  // max-parts=0 asks for no parts: an empty page that is not truncated (as AWS lists with
  // max-keys=0), or a paginator with no marker to go on would ask again forever.
  bool truncated = max_parts > 0 && static_cast<int>(parts->size()) > max_parts;
  if (static_cast<int>(parts->size()) > max_parts) parts->resize(static_cast<std::size_t>(max_parts));
  XmlDoc doc("ListPartsResult");
  auto r = doc.root();
  r.add("Bucket", b.name);
  r.add("Key", c.op.key);
  r.add("UploadId", u->id);
  add_owner(r, "Initiator", c);
  add_owner(r, "Owner", c);
  r.add("StorageClass", "STANDARD");
  r.add("PartNumberMarker", marker);
  if (!parts->empty()) r.add("NextPartNumberMarker", parts->back().number);
  r.add("MaxParts", max_parts);
  r.add_bool("IsTruncated", truncated);
  if (!u->checksum_algorithm.empty()) {
    r.add("ChecksumAlgorithm", u->checksum_algorithm);
    r.add("ChecksumType", u->checksum_type);
  }
  for (auto& p : *parts) {
    auto x = r.add("Part");
    x.add("PartNumber", p.number);
    x.add("LastModified", http::format_iso8601(p.modified));
    x.add("ETag", quote_etag(p.etag));
    x.add("Size", p.size);
    if (!p.checksum.empty()) x.add("Checksum" + u->checksum_algorithm, p.checksum);
  }
  co_await respond_xml(c, doc.str());
}

asio::awaitable<void> list_uploads(Ctx& c, const storage::Bucket& b) {
  int max = 1000;
  if (c.op.has("max-uploads")) {
    auto m = parse_int(c.op.get("max-uploads"));
    if (!m || *m < 0) co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Invalid max-uploads"));
    max = std::min(*m, 1000);
  }
  bool url = false;
  if (c.op.has("encoding-type")) {
    if (c.op.get("encoding-type") != "url")
      co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Invalid Encoding Method specified in Request"));
    url = true;
  }
  auto enc = [url](const std::string& s) { return url ? http::percent_encode(s, true) : s; };
  auto prefix = c.op.get("prefix");
  auto delimiter = c.op.get("delimiter");
  auto key_marker = c.op.get("key-marker");
  auto id_marker = c.op.get("upload-id-marker");

  // Entries in key order: uploads, and with a delimiter the common prefixes of keys that hold it
  // past the prefix (each once, its uploads passed over). A key marker that is such a prefix (the
  // NextKeyMarker of a page that ended on one) starts after all of its keys.
  auto common_prefix = [&](const std::string& key) -> std::string {
    if (delimiter.empty() || !key.starts_with(prefix)) return {};
    auto pos = key.find(delimiter, prefix.size());
    return pos == std::string::npos ? std::string() : key.substr(0, pos + delimiter.size());
  };
  std::string skip = common_prefix(key_marker) == key_marker ? key_marker : std::string();
  std::vector<storage::UploadInfo> uploads;
  std::vector<std::string> prefixes;
  std::string next_key, next_id;
  bool truncated = false;
  int entries = 0;
  std::string km = key_marker, im = id_marker;
  while (max > 0) {
    auto page = co_await c.multipart->list_uploads(b.id, prefix, km, im, 1000);
    if (!page) co_return co_await respond_error(c, from_engine(page.error()));
    for (auto& u : page->uploads) {
      if (!skip.empty() && u.key.starts_with(skip)) continue;
      if (entries == max) {
        truncated = true;
        break;
      }
      ++entries;
      if (auto cp = common_prefix(u.key); !cp.empty()) {
        prefixes.push_back(cp);
        skip = cp;
        next_key = cp;
        next_id.clear();
      } else {
        next_key = u.key;
        next_id = u.id;
        uploads.push_back(std::move(u));
      }
    }
    if (truncated || !page->truncated) break;
    km = page->uploads.back().key;
    im = page->uploads.back().id;
  }

  XmlDoc doc("ListMultipartUploadsResult");
  auto r = doc.root();
  r.add("Bucket", b.name);
  r.add("KeyMarker", enc(key_marker));
  r.add("UploadIdMarker", id_marker);
  if (entries > 0) {
    r.add("NextKeyMarker", enc(next_key));
    r.add("NextUploadIdMarker", next_id);
  }
  r.add("Prefix", enc(prefix));
  if (!delimiter.empty()) r.add("Delimiter", enc(delimiter));
  r.add("MaxUploads", max);
  if (url) r.add("EncodingType", "url");
  r.add_bool("IsTruncated", truncated);
  for (auto& u : uploads) {
    auto x = r.add("Upload");
    x.add("Key", enc(u.key));
    x.add("UploadId", u.id);
    add_owner(x, "Initiator", c);
    add_owner(x, "Owner", c);
    x.add("StorageClass", "STANDARD");
    if (!u.checksum_algorithm.empty()) {
      x.add("ChecksumAlgorithm", u.checksum_algorithm);
      x.add("ChecksumType", u.checksum_type);
    }
    x.add("Initiated", http::format_iso8601(u.created));
  }
  for (auto& p : prefixes) r.add("CommonPrefixes").add("Prefix", enc(p));
  co_await respond_xml(c, doc.str());
}

}  // namespace

asio::awaitable<void> handle_multipart_op(Ctx& c) {
  auto b = co_await require_bucket(c);
  if (!b) co_return;
  switch (c.op.op) {
    case Op::CreateMultipartUpload: co_await create_upload(c, *b); break;
    case Op::UploadPart: co_await upload_part(c, *b); break;
    case Op::UploadPartCopy: co_await upload_part_copy(c, *b); break;
    case Op::CompleteMultipartUpload: co_await complete_upload(c, *b); break;
    case Op::AbortMultipartUpload: co_await abort_upload(c, *b); break;
    case Op::ListParts: co_await list_parts(c, *b); break;
    default: co_await list_uploads(c, *b); break;
  }
}

}  // namespace depot::s3
