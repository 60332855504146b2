#include "storage/multipart_store.hpp"

#include <cctype>
#include <map>
#include <openssl/evp.h>

#include "src/crypto/checksum.hpp"
#include "storage/db.hpp"
#include "storage/object_rows.hpp"
#include "storage/quota.hpp"

namespace depot::storage {
namespace asio = boost::asio;

namespace {

// Rolls a transaction back with an expected failure; caught around db.tx.
struct Abort : std::exception {
  Error error;
  explicit Abort(Error e) : error(std::move(e)) {}
};

// Runs fn in a transaction; an Abort thrown inside rolls it back and comes out as the Error.
template <class T, class F>
asio::awaitable<Result<T>> guarded_tx(Database& db, F fn) {
  std::optional<Error> failed;
  std::optional<T> r;
  try {
    r = co_await db.tx([&](pqxx::work& w) -> std::optional<T> { return fn(w); });
  } catch (const Abort& a) {
    failed = a.error;
  }
  if (failed) co_return *failed;
  if (!r) co_return make_error(Errc::internal, "transaction produced no result");
  co_return std::move(*r);
}

UploadInfo upload_from_row(const pqxx::row& r) {
  UploadInfo u;
  u.id = r[0].as<std::string>();
  u.bucket = r[1].as<BucketId>();
  u.key = r[2].as<std::string>();
  u.user = r[3].as<UserId>();
  u.content_type = r[4].as<std::string>();
  u.user_meta = json_to_map(r[5].as<std::string>());
  u.headers = json_to_map(r[6].as<std::string>());
  u.checksum_algorithm = r[7].as<std::string>();
  u.checksum_type = r[8].as<std::string>();
  u.created = from_micros(r[9].as<std::int64_t>());
  if (!r[10].is_null()) u.tags = json_to_map(r[10].as<std::string>());
  return u;
}
constexpr const char* kUploadColumns =
    "id, bucket_id, key, user_id, content_type, user_meta::text, headers::text, checksum_algorithm, checksum_type, "
    "(extract(epoch from created_at) * 1000000)::bigint, tags::text";

PartInfo part_from_row(const pqxx::row& r) {
  PartInfo p;
  p.number = r[0].as<int>();
  p.blob_id = r[1].as<std::string>();
  p.size = r[2].as<std::int64_t>();
  p.etag = r[3].as<std::string>();
  p.checksum = r[4].as<std::string>();
  p.modified = from_micros(r[5].as<std::int64_t>());
  p.offset = r[6].as<std::int64_t>();
  return p;
}
constexpr const char* kPartColumns =
    "part_number, blob_id, size, etag, checksum, (extract(epoch from created_at) * 1000000)::bigint, blob_offset";

// Of the blob ids, those no row names any more (their files can go now).
std::vector<std::string> gone_blobs(pqxx::work& w, const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  if (ids.empty()) return out;
  for (const auto& r : w.exec_params("SELECT x FROM unnest($1::text[]) AS x WHERE NOT EXISTS "
                                     "(SELECT 1 FROM blobs WHERE id = x)",
                                     to_pg_text_array(ids)))
    out.push_back(r[0].as<std::string>());
  return out;
}

struct Seg {
  std::string blob;
  std::int64_t offset;
  std::int64_t size;
};

// The segments of those blobs that are manifests (completed multipart objects), in order; one
// query for all the parts of an upload.
std::map<std::string, std::vector<Seg>> manifests_among(pqxx::work& w, const std::vector<std::string>& ids) {
  std::map<std::string, std::vector<Seg>> out;
  for (const auto& r : w.exec_params("SELECT blob_id, part_blob_id, part_offset, size FROM blob_segments "
                                     "WHERE blob_id = ANY($1::text[]) ORDER BY blob_id, seq",
                                     to_pg_text_array(ids)))
    out[r[0].as<std::string>()].push_back({r[1].as<std::string>(), r[2].as<std::int64_t>(), r[3].as<std::int64_t>()});
  return out;
}

// The leaf ranges that bytes [offset, offset+size) of blob consist of: the blob itself, or, for a
// manifest, the matching pieces of its segments (so segments never nest).
void leaf_ranges(const std::map<std::string, std::vector<Seg>>& manifests, const std::string& blob, std::int64_t offset,
                 std::int64_t size, std::vector<Seg>& out) {
  auto it = manifests.find(blob);
  if (it == manifests.end()) {
    out.push_back({blob, offset, size});
    return;
  }
  std::int64_t pos = 0, end = offset + size;
  for (const auto& seg : it->second) {
    std::int64_t s = pos, e = pos + seg.size;
    pos = e;
    if (e <= offset || s >= end) continue;
    std::int64_t from = std::max(s, offset), to = std::min(e, end);
    out.push_back({seg.blob, seg.offset + (from - s), to - from});
  }
}

std::string raw_digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hex(std::string_view raw) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : raw) {
    o += d[c >> 4];
    o += d[c & 15];
  }
  return o;
}

std::optional<std::string> unhex(std::string_view h) {
  if (h.size() % 2) return std::nullopt;
  std::string o;
  for (std::size_t i = 0; i < h.size(); i += 2) {
    auto v = [](char c) { return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0'; };
    o += static_cast<char>(v(h[i]) * 16 + v(h[i + 1]));
  }
  return o;
}

std::string pg_bigint_array(const std::vector<std::int64_t>& v) {
  std::string s = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "}";
}

// Files of part blobs that no row refers to any more once `manifest` goes.
std::vector<std::string> parts_freed_with(pqxx::work& w, const std::string& manifest) {
  std::vector<std::string> out;
  for (const auto& r : w.exec_params("SELECT s.part_blob_id FROM blob_segments s JOIN blobs b ON b.id = s.part_blob_id "
                                     "WHERE s.blob_id = $1 AND b.refcount = 1",
                                     manifest))
    out.push_back(r[0].as<std::string>());
  return out;
}

// Reads a completed multipart object's parts in turn. A GET started before a DELETE or an
// overwrite sends the whole old object, as S3 does (open_multipart_object):
// - the first kEagerParts files are opened before the answer starts: a held file is neither
//   unlinked under the reader nor written over (a spare), also by another server sharing the
//   directory;
// - the rest (up to 10,000 parts: too many descriptors to hold) are pinned in the blob store,
//   which puts off their removal until the reader goes, and checked to be there; they open
//   when reached.
constexpr std::size_t kEagerParts = 64;

class SegmentReader final : public BlobReader {
 public:
  struct Segment {
    std::string id;
    std::uint64_t offset;  // within the part blob
    std::uint64_t length;
    std::unique_ptr<BlobReader> opened = {};  // set for the first kEagerParts
  };
  SegmentReader(BlobStore& blobs, std::vector<Segment> segs, std::uint64_t total, std::shared_ptr<void> pins)
      : blobs_(blobs), segs_(std::move(segs)), remaining_(total), pins_(std::move(pins)) {}

  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override {
    while (remaining_ > 0) {
      if (!cur_) {
        if (next_ >= segs_.size()) co_return 0;
        auto& s = segs_[next_++];
        if (s.opened) {
          cur_ = std::move(s.opened);
        } else {
          auto r = blobs_.open(s.id, s.offset, s.length);
          if (!r) throw std::runtime_error("part blob " + s.id + " cannot be opened: " + r.error().message);
          cur_ = std::move(r.value());
        }
      }
      std::size_t got = co_await cur_->read(buf, static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_)));
      if (got == 0) {
        cur_.reset();
        continue;
      }
      remaining_ -= got;
      co_return got;
    }
    co_return 0;
  }
  std::uint64_t remaining() const override { return remaining_; }

 private:
  BlobStore& blobs_;
  std::vector<Segment> segs_;
  std::size_t next_ = 0;
  std::unique_ptr<BlobReader> cur_;
  std::uint64_t remaining_;
  std::shared_ptr<void> pins_;  // the files of the parts not opened yet
};

}  // namespace

asio::awaitable<Result<UploadInfo>> MultipartStore::create(UploadInfo u) {
  u.id = new_blob_id();
  co_return co_await guarded_tx<UploadInfo>(db_, [&](pqxx::work& w) {
    auto r = w.exec_params(std::string("INSERT INTO multipart_uploads (id, bucket_id, key, user_id, content_type, "
                                       "user_meta, headers, checksum_algorithm, checksum_type, tags) VALUES ($1, $2, $3, $4, "
                                       "$5, $6::jsonb, $7::jsonb, $8, $9, NULLIF($10, '')::jsonb) RETURNING ") +
                               kUploadColumns,
                           u.id, u.bucket, u.key, u.user, u.content_type, map_to_json(u.user_meta),
                           map_to_json(u.headers), u.checksum_algorithm, u.checksum_type,
                           u.tags.empty() ? std::string() : map_to_json(u.tags));
    return upload_from_row(r[0]);
  });
}

asio::awaitable<Result<UploadInfo>> MultipartStore::get(BucketId bucket, std::string key, std::string upload_id) {
  co_return co_await guarded_tx<UploadInfo>(db_, [&](pqxx::work& w) {
    auto r = w.exec_params(std::string("SELECT ") + kUploadColumns +
                               " FROM multipart_uploads WHERE id = $1 AND bucket_id = $2 AND key = $3",
                           upload_id, bucket, key);
    if (r.empty()) throw Abort(make_error(Errc::not_found, "no such upload"));
    return upload_from_row(r[0]);
  });
}

asio::awaitable<Result<ObjectInfo>> MultipartStore::completed(BucketId bucket, std::string key, std::string upload_id) {
  co_return co_await guarded_tx<ObjectInfo>(db_, [&](pqxx::work& w) {
    auto r = w.exec_params(std::string("SELECT ") + kObjectColumns +
                               " FROM objects o WHERE o.bucket_id = $1 AND o.key = $2 AND o.upload_id = $3",
                           bucket, key, upload_id);
    if (r.empty()) throw Abort(make_error(Errc::not_found, "no such upload"));
    return object_from_row(r[0]);
  });
}

asio::awaitable<Result<PartInfo>> MultipartStore::add_part(const UploadInfo& u, PartInfo part,
                                                           std::unique_ptr<Reservation> reservation) {
  std::vector<std::string> unlink;
  auto res = co_await guarded_tx<PartInfo>(db_, [&](pqxx::work& w) {
    unlink.clear();
    if (w.exec_params("SELECT 1 FROM multipart_uploads WHERE id = $1 FOR SHARE", u.id).empty())
      throw Abort(make_error(Errc::not_found, "no such upload"));
    // Two uploads of the same part number in flight: the later commit replaces the earlier
    // (last writer wins) instead of failing on the part's primary key.
    w.exec_params("SELECT pg_advisory_xact_lock(hashtext($1), $2)", u.id, part.number);
    if (part.shared) {
      // One more reference to the source's blob; an inline blob cannot be shared (no file).
      auto ref = w.exec_params("UPDATE blobs SET refcount = refcount + 1 WHERE id = $1 AND refcount > 0 AND "
                               "inline_data IS NULL AND size >= $2 RETURNING 1",
                               part.blob_id, part.offset + part.size);
      if (ref.empty()) throw Abort(make_error(Errc::no_such_key, "the copy source is gone"));
    } else {
      w.exec_params("INSERT INTO blobs (id, size, refcount) VALUES ($1, $2, 1)", part.blob_id, part.size);
    }
    auto old = w.exec_params("DELETE FROM multipart_parts WHERE upload_id = $1 AND part_number = $2 RETURNING blob_id, size",
                             u.id, part.number);
    std::int64_t old_size = 0;
    if (!old.empty()) {
      old_size = old[0][1].as<std::int64_t>();
      unlink = gone_blobs(w, {old[0][0].as<std::string>()});
    }
    auto r = w.exec_params(std::string("INSERT INTO multipart_parts (upload_id, part_number, blob_id, size, etag, "
                                       "checksum, blob_offset) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ") +
                               kPartColumns,
                           u.id, part.number, part.blob_id, part.size, part.etag, part.checksum, part.offset);
    auto q = quota_.commit(w, reservation.get(), u.user, part.size - old_size, 0);
    if (!q) throw Abort(q.error());
    return part_from_row(r[0]);
  });
  if (!res && !part.shared) blobs_.remove(part.blob_id);
  if (res) for (auto& id : unlink) blobs_.remove(id);
  co_return res;
}

asio::awaitable<Result<std::vector<PartInfo>>> MultipartStore::list_parts(std::string upload_id, int part_marker,
                                                                          int max_parts) {
  co_return co_await guarded_tx<std::vector<PartInfo>>(db_, [&](pqxx::work& w) {
    std::vector<PartInfo> out;
    for (const auto& r : w.exec_params(std::string("SELECT ") + kPartColumns +
                                           " FROM multipart_parts WHERE upload_id = $1 AND part_number > $2 "
                                           "ORDER BY part_number LIMIT $3",
                                       upload_id, part_marker, max_parts + 1))
      out.push_back(part_from_row(r));
    return out;
  });
}

asio::awaitable<Result<UploadPage>> MultipartStore::list_uploads(BucketId bucket, std::string prefix,
                                                                 std::string key_marker, std::string upload_marker,
                                                                 int max_uploads) {
  co_return co_await guarded_tx<UploadPage>(db_, [&](pqxx::work& w) {
    UploadPage page;
    auto upper = prefix_upper_bound(prefix);
    auto rows = w.exec_params(
        std::string("SELECT ") + kUploadColumns +
            " FROM multipart_uploads WHERE bucket_id = $1 AND key >= $2 AND ($3::text IS NULL OR key < $3) "
            "AND (key > $4 OR (key = $4 AND $5 <> '' AND id > $5)) ORDER BY key, id LIMIT $6",
        bucket, prefix, upper, key_marker, upload_marker, max_uploads + 1);
    for (const auto& r : rows) page.uploads.push_back(upload_from_row(r));
    if (static_cast<int>(page.uploads.size()) > max_uploads) {
      page.uploads.pop_back();
      page.truncated = true;
    }
    return page;
  });
}

namespace {
std::string lower_ascii(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}
}  // namespace

asio::awaitable<Result<ObjectInfo>> MultipartStore::complete(const Bucket& b, const UploadInfo& u,
                                                             std::vector<CompletePart> wanted, WriteConditions cond,
                                                             CompleteChecks checks) {
  std::vector<std::string> unlink;
  auto res = co_await guarded_tx<ObjectInfo>(db_, [&](pqxx::work& w) {
    unlink.clear();
    if (w.exec_params("SELECT 1 FROM multipart_uploads WHERE id = $1 FOR UPDATE", u.id).empty())
      throw Abort(make_error(Errc::not_found, "no such upload"));
    std::map<int, PartInfo> stored;
    for (const auto& r : w.exec_params(std::string("SELECT ") + kPartColumns +
                                           " FROM multipart_parts WHERE upload_id = $1 ORDER BY part_number",
                                       u.id)) {
      auto p = part_from_row(r);
      stored.emplace(p.number, std::move(p));
    }
    // The list the client sent: ascending, known parts with their ETags, all but the last >= 5 MiB.
    std::vector<const PartInfo*> used;
    int last = 0;
    for (auto& want : wanted) {
      if (want.number <= last)
        throw Abort(make_error(Errc::invalid_argument, "InvalidPartOrder: The list of parts was not in ascending order. "
                                                       "Parts must be ordered by part number."));
      last = want.number;
      auto it = stored.find(want.number);
      // A part checksum the client sent must be the part's, as its ETag must.
      if (it == stored.end() || it->second.etag != want.etag ||
          (!want.checksum.empty() && want.checksum != it->second.checksum))
        throw Abort(make_error(Errc::invalid_argument,
                               "InvalidPart: One or more of the specified parts could not be found. The part may not "
                               "have been uploaded, or the specified entity tag may not match the part's entity tag."));
      // A COMPOSITE checksum is made of the part checksums the client lists (S3 requires them).
      if (want.checksum.empty() && !u.checksum_algorithm.empty() && u.checksum_type != "FULL_OBJECT")
        throw Abort(make_error(Errc::invalid_argument,
                               "InvalidRequest: The upload was created using a " + lower_ascii(u.checksum_algorithm) +
                                   " checksum. The complete request must include the checksum for each part. It was "
                                   "missing for part " + std::to_string(want.number) + " in the request."));
      used.push_back(&it->second);
    }
    for (std::size_t i = 0; i + 1 < used.size(); ++i)
      if (used[i]->size < kMinPartSize)
        throw Abort(make_error(Errc::invalid_argument,
                               "EntityTooSmall: Your proposed upload is smaller than the minimum allowed object size."));

    // ETag and checksum of the whole, from the parts' digests.
    std::string md5s, sums;
    bool all_sums = !u.checksum_algorithm.empty();
    std::int64_t total = 0;
    std::vector<std::int64_t> sizes;
    std::vector<Seg> segs;  // leaf ranges, in order (a copied range of a manifest is flattened)
    std::vector<std::string> part_blobs;
    for (auto* p : used) part_blobs.push_back(p->blob_id);
    auto manifests = manifests_among(w, part_blobs);
    for (auto* p : used) {
      md5s += unhex(p->etag).value_or("");
      total += p->size;
      sizes.push_back(p->size);
      leaf_ranges(manifests, p->blob_id, p->offset, p->size, segs);
      if (p->checksum.empty()) all_sums = false;
    }
    std::vector<std::string> ids;
    std::vector<std::int64_t> seg_sizes, seg_offsets;
    for (auto& sg : segs) {
      ids.push_back(sg.blob);
      seg_sizes.push_back(sg.size);
      seg_offsets.push_back(sg.offset);
    }
    ObjectInfo info;
    info.etag = hex(raw_digest(EVP_md5(), md5s)) + "-" + std::to_string(used.size());

    w.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", int(b.id & 0x7fffffff), u.key);
    auto old = w.exec_params("SELECT blob_id, size, etag FROM objects WHERE bucket_id = $1 AND key = $2 FOR UPDATE", b.id, u.key);
    if (cond.if_none_match_any && !old.empty())
      throw Abort(make_error(Errc::precondition_failed, "the object already exists (If-None-Match: *)"));
    if (cond.if_match) {
      if (old.empty()) throw Abort(make_error(Errc::no_such_key, "the object does not exist (If-Match)"));
      if (*cond.if_match != "*" && *cond.if_match != old[0][2].as<std::string>())
        throw Abort(make_error(Errc::precondition_failed, "the object's ETag does not match (If-Match)"));
    }

    std::string manifest = new_blob_id();
    w.exec_params("INSERT INTO blobs (id, size, refcount) VALUES ($1, $2, 1)", manifest, total);
    w.exec_params(
        "INSERT INTO blob_segments (blob_id, seq, part_blob_id, size, part_offset) "
        "SELECT $1, s.ord, s.id, z.size, o.off FROM unnest($2::text[]) WITH ORDINALITY AS s(id, ord) "
        "JOIN unnest($3::bigint[]) WITH ORDINALITY AS z(size, ord) ON z.ord = s.ord "
        "JOIN unnest($4::bigint[]) WITH ORDINALITY AS o(off, ord) ON o.ord = s.ord",
        manifest, to_pg_text_array(ids), pg_bigint_array(seg_sizes), pg_bigint_array(seg_offsets));
    // One reference per segment (several segments may share a blob: ranges of one source).
    w.exec_params("UPDATE blobs SET refcount = refcount + g.n FROM (SELECT id, count(*) AS n FROM "
                  "unnest($1::text[]) AS id GROUP BY id) g WHERE blobs.id = g.id",
                  to_pg_text_array(ids));

    // The object it replaces.
    std::int64_t old_bytes = 0, old_objects = 0;
    if (!old.empty()) {
      std::string old_blob = old[0][0].as<std::string>();
      old_bytes = old[0][1].as<std::int64_t>();
      old_objects = 1;
      w.exec_params("DELETE FROM objects WHERE bucket_id = $1 AND key = $2", b.id, u.key);
      auto ref = w.exec_params("UPDATE blobs SET refcount = refcount - 1 WHERE id = $1 RETURNING refcount, "
                               "inline_data IS NULL",
                               old_blob);
      if (!ref.empty() && ref[0][0].as<int>() <= 0) {
        for (auto& f : parts_freed_with(w, old_blob)) unlink.push_back(f);
        if (ref[0][1].as<bool>()) unlink.push_back(old_blob);
        w.exec_params("DELETE FROM blobs WHERE id = $1", old_blob);
      }
    }

    if (all_sums && u.checksum_type == "FULL_OBJECT") {
      // FULL_OBJECT (CRCs only): the CRC of the whole object, combined from the part CRCs.
      auto alg = crypto::parse_algorithm(u.checksum_algorithm);
      bool ok = alg && (*alg == crypto::Algorithm::crc32 || *alg == crypto::Algorithm::crc32c ||
                        *alg == crypto::Algorithm::crc64nvme);
      std::uint64_t acc = 0;
      for (std::size_t i = 0; ok && i < used.size(); ++i) {
        auto d = crypto::base64_decode(used[i]->checksum);
        if (!d || d->size() != crypto::digest_size(*alg)) {
          ok = false;
          break;
        }
        std::uint64_t v = 0;
        for (unsigned char ch : *d) v = (v << 8) | ch;
        auto n = static_cast<std::uint64_t>(used[i]->size);
        if (i == 0) acc = v;
        else if (*alg == crypto::Algorithm::crc32) acc = crypto::crc32_combine(std::uint32_t(acc), std::uint32_t(v), n);
        else if (*alg == crypto::Algorithm::crc32c) acc = crypto::crc32c_combine(std::uint32_t(acc), std::uint32_t(v), n);
        else acc = crypto::crc64nvme_combine(acc, v, n);
      }
      if (ok) {
        std::string raw;
        for (std::size_t i = crypto::digest_size(*alg); i-- > 0;) raw += static_cast<char>((acc >> (8 * i)) & 0xff);
        info.checksums[u.checksum_algorithm] = crypto::base64_encode(raw);
        info.checksums["type"] = "FULL_OBJECT";
      }
    }
    if (all_sums && u.checksum_type != "FULL_OBJECT") {
      // COMPOSITE: the checksum of the concatenated part checksums, "-N".
      auto alg = crypto::parse_algorithm(u.checksum_algorithm);
      std::string raw;
      bool ok = alg.has_value();
      for (auto* p : used) {
        auto d = crypto::base64_decode(p->checksum);
        if (!d) {
          ok = false;
          break;
        }
        raw += *d;
      }
      if (ok) {
        info.checksums[u.checksum_algorithm] =
            crypto::base64_encode(crypto::digest(*alg, raw)) + "-" + std::to_string(used.size());
        info.checksums["type"] = "COMPOSITE";
      }
    }

    // What the request says of the whole object.
    if (checks.size && *checks.size != total)
      throw Abort(make_error(Errc::invalid_argument, "InvalidRequest: The provided 'x-amz-mp-object-size' header value " +
                                                         std::to_string(*checks.size) +
                                                         " does not match what was computed: " + std::to_string(total)));
    if (!checks.type.empty() && !u.checksum_algorithm.empty() && checks.type != u.checksum_type)
      throw Abort(make_error(Errc::invalid_argument, "BadDigest: The upload was created using the " + u.checksum_type +
                                                         " checksum mode. The complete request must use the same checksum mode."));
    if (!checks.checksum.empty()) {
      if (checks.algorithm != u.checksum_algorithm)
        throw Abort(make_error(Errc::invalid_argument,
                               "InvalidRequest: The upload was created using " +
                                   (u.checksum_algorithm.empty() ? std::string("no checksum algorithm")
                                                                 : "the " + lower_ascii(u.checksum_algorithm) + " checksum algorithm") +
                                   "; the complete request's checksum is " + lower_ascii(checks.algorithm) + "."));
      auto bare = [](std::string v) {
        if (auto dash = v.find('-'); dash != std::string::npos) v.resize(dash);
        return v;
      };
      auto it = info.checksums.find(u.checksum_algorithm);
      if (it == info.checksums.end() || bare(it->second) != bare(checks.checksum))
        throw Abort(make_error(Errc::invalid_argument, "BadDigest: The " + lower_ascii(u.checksum_algorithm) +
                                                           " you specified did not match the calculated checksum."));
    }

    auto row = w.exec_params(
        std::string("INSERT INTO objects AS o (bucket_id, key, blob_id, size, etag, content_type, user_meta, headers, "
                    "checksums, parts, part_sizes, upload_id) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, "
                    "$9::jsonb, $10, $11::bigint[], $12) RETURNING ") +
            kObjectColumns,
        b.id, u.key, manifest, total, info.etag, u.content_type, map_to_json(u.user_meta), map_to_json(u.headers),
        map_to_json(info.checksums), int(used.size()), pg_bigint_array(sizes), u.id);
    // Part rows left out of the object go with the upload; their blobs are freed by the trigger.
    std::int64_t unused_bytes = 0;
    std::vector<std::string> unused;
    for (auto& [n, p] : stored) {
      bool in = false;
      for (auto* q : used) in = in || q == &p;
      if (!in) {
        unused_bytes += p.size;
        unused.push_back(p.blob_id);
      }
    }
    // Tags given at creation go with the object (the trigger of migration 102 counts them).
    w.exec_params("INSERT INTO s3_object_tags (bucket_id, key, tags) SELECT $1, $2, tags FROM multipart_uploads "
                  "WHERE id = $3 AND tags IS NOT NULL AND tags <> '{}'::jsonb",
                  b.id, u.key, u.id);
    w.exec_params("DELETE FROM multipart_uploads WHERE id = $1", u.id);
    // Files of left-out parts whose blob no row holds any more (shared ones stay).
    for (auto& id : gone_blobs(w, unused)) unlink.push_back(id);
    auto q = quota_.commit(w, nullptr, b.owner, -old_bytes - unused_bytes, 1 - old_objects);
    if (!q) throw Abort(q.error());
    return object_from_row(row[0]);
  });
  if (res) for (auto& id : unlink) blobs_.remove(id);
  co_return res;
}

asio::awaitable<Result<void>> MultipartStore::abort(const Bucket& b, const UploadInfo& u) {
  std::vector<std::string> unlink;
  auto res = co_await guarded_tx<bool>(db_, [&](pqxx::work& w) {
    unlink.clear();
    if (w.exec_params("SELECT 1 FROM multipart_uploads WHERE id = $1 FOR UPDATE", u.id).empty())
      throw Abort(make_error(Errc::not_found, "no such upload"));
    std::int64_t bytes = 0;
    std::vector<std::string> ids;
    for (const auto& r : w.exec_params("SELECT blob_id, size FROM multipart_parts WHERE upload_id = $1", u.id)) {
      ids.push_back(r[0].as<std::string>());
      bytes += r[1].as<std::int64_t>();
    }
    w.exec_params("DELETE FROM multipart_uploads WHERE id = $1", u.id);
    // The trigger dropped the parts' references; files of blobs still shared (UploadPartCopy
    // sources) stay.
    unlink = gone_blobs(w, ids);
    QuotaEngine::credit(w, u.user, bytes, 0);
    return true;
  });
  if (!res) co_return res.error();
  for (auto& id : unlink) blobs_.remove(id);
  co_return Result<void>{};
}

asio::awaitable<std::int64_t> MultipartStore::expire(std::chrono::seconds max_age) {
  auto ids = co_await db_.tx([&](pqxx::work& w) {
    std::vector<UploadInfo> out;
    for (const auto& r : w.exec_params(std::string("SELECT ") + kUploadColumns +
                                           " FROM multipart_uploads WHERE created_at < now() - make_interval(secs => $1) "
                                           "LIMIT 1000",
                                       double(max_age.count())))
      out.push_back(upload_from_row(r));
    return out;
  });
  std::int64_t n = 0;
  for (auto& u : ids) {
    Bucket b;
    b.id = u.bucket;
    b.owner = u.user;
    auto r = co_await abort(b, u);
    if (r) ++n;
  }
  co_return n;
}

asio::awaitable<Result<std::unique_ptr<BlobReader>>> open_multipart_object(Database& db, BlobStore& blobs,
                                                                           const ObjectInfo& obj, std::uint64_t offset,
                                                                           std::uint64_t length) {
  auto segs = co_await db.tx([&](pqxx::work& w) {
    std::vector<std::tuple<std::string, std::uint64_t, std::uint64_t>> out;
    for (const auto& r : w.exec_params(
             "SELECT part_blob_id, size, part_offset FROM blob_segments WHERE blob_id = $1 ORDER BY seq", obj.blob_id))
      out.emplace_back(r[0].as<std::string>(), r[1].as<std::uint64_t>(), r[2].as<std::uint64_t>());
    return out;
  });
  if (segs.empty()) co_return make_error(Errc::not_found, "the object's parts are missing");
  std::vector<SegmentReader::Segment> plan;
  std::uint64_t pos = 0, end = offset + length;
  for (auto& [id, size, base] : segs) {
    std::uint64_t s = pos, e = pos + size;
    pos = e;
    if (e <= offset || s >= end) continue;
    std::uint64_t from = std::max(s, offset), to = std::min(e, end);
    plan.push_back({id, base + (from - s), to - from});
  }
  std::shared_ptr<void> pins;
  if (plan.size() > kEagerParts) {
    std::vector<std::string> later;
    for (std::size_t i = kEagerParts; i < plan.size(); ++i) later.push_back(plan[i].id);
    pins = blobs.pin(later);
  }
  // A part file that is gone answers not_found before any byte is sent: the object was replaced
  // or deleted since the lookup (the GET handlers look up again), or the store lost the file.
  // A pinned one is only checked (opened and closed): from now on it stays.
  for (std::size_t i = 0; i < plan.size(); ++i) {
    auto r = blobs.open(plan[i].id, plan[i].offset, plan[i].length);
    if (!r) co_return r.error();
    if (i < kEagerParts) plan[i].opened = std::move(r.value());
  }
  co_return std::unique_ptr<BlobReader>(
      std::make_unique<SegmentReader>(blobs, std::move(plan), length, std::move(pins)));
}

}  // namespace depot::storage
