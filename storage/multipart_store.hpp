// S3 multipart uploads: uploads and their parts (each part is a blob of its own), and the
// objects made of several blobs that completing an upload creates, without copying any byte.
//
// Schema (migrations 101, 102): multipart_uploads, multipart_parts, blob_segments. A completed object
// is one `objects` row whose blob is a manifest `blobs` row (size = the sum, no file, no inline
// data) with one blob_segments row per part, in order. Part blobs are ordinary `blobs` rows
// (refcount 1, held by the part row or by the segment row), so the sweeper never takes them for
// orphans. When the manifest row goes (the last object using it is deleted), its segments
// cascade and a trigger frees the part blobs; their files are then orphans the sweeper removes.
// UploadPartCopy parts refer to a range of the source's blob (refcounted, no copy); completing
// flattens a range of a manifest into segments of its leaf blobs, so segments never nest.
// Parts count in the owner's usage from the moment they are stored until the upload is aborted
// (or the part is left out of the completed object).
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "src/result.hpp"
#include "storage/blob_store.hpp"
#include "storage/engine.hpp"
#include "storage/types.hpp"

namespace depot::storage {

class Database;
class QuotaEngine;
class Reservation;

struct UploadInfo {
  std::string id;
  BucketId bucket = 0;
  std::string key;
  UserId user = 0;
  std::string content_type;
  MetaMap user_meta;
  HeaderMap headers;
  std::string checksum_algorithm;  // CRC32, ... or empty
  std::string checksum_type;       // COMPOSITE, FULL_OBJECT or empty
  TimePoint created;
  MetaMap tags;                    // x-amz-tagging at creation: the completed object's tags
};

struct PartInfo {
  int number = 0;
  std::string blob_id;
  std::int64_t size = 0;
  std::string etag;      // hex MD5 of the part
  std::string checksum;  // base64, of the upload's algorithm, or empty
  TimePoint modified;
  // UploadPartCopy: the part is bytes [offset, offset + size) of a blob that already exists
  // (a source object's, possibly a multipart manifest); no byte is copied, the blob's refcount
  // counts the part. Otherwise the part owns blob_id (a new file) and offset is 0.
  bool shared = false;
  std::int64_t offset = 0;
};

struct CompletePart {
  int number = 0;
  std::string etag;      // without quotes
  std::string checksum;  // the part's checksum of the upload's algorithm the client sent, or empty
};

// What a CompleteMultipartUpload request says of the whole object; each is checked before the
// object is made (empty or unset: not said).
struct CompleteChecks {
  std::string algorithm;  // of checksum, e.g. "CRC32"
  std::string checksum;   // base64, "-N" allowed for COMPOSITE
  std::string type;       // COMPOSITE or FULL_OBJECT
  std::optional<std::int64_t> size;
};

struct UploadPage {
  std::vector<UploadInfo> uploads;
  bool truncated = false;
};

class MultipartStore {
 public:
  MultipartStore(Database& db, BlobStore& blobs, QuotaEngine& quota) : db_(db), blobs_(blobs), quota_(quota) {}

  boost::asio::awaitable<Result<UploadInfo>> create(UploadInfo u);
  // not_found when the upload does not exist (or is for another bucket or key).
  boost::asio::awaitable<Result<UploadInfo>> get(BucketId bucket, std::string key, std::string upload_id);
  // The object the upload was completed into, while it is still the key's object; not_found otherwise.
  boost::asio::awaitable<Result<ObjectInfo>> completed(BucketId bucket, std::string key, std::string upload_id);

  // Records a part whose bytes are already a durable blob file (blob_id) and whose size is
  // reserved in r; replaces an earlier part of the same number. not_found if the upload went.
  // With part.shared, blob_id is an existing on-disk or manifest blob (not inline) that the part
  // refers to from part.offset; no_such_key if that blob went meanwhile.
  boost::asio::awaitable<Result<PartInfo>> add_part(const UploadInfo& u, PartInfo part, std::unique_ptr<Reservation> r);

  // Parts in order, after part_marker, at most max_parts (+1 to detect truncation).
  boost::asio::awaitable<Result<std::vector<PartInfo>>> list_parts(std::string upload_id, int part_marker, int max_parts);
  boost::asio::awaitable<Result<UploadPage>> list_uploads(BucketId bucket, std::string prefix, std::string key_marker,
                                                          std::string upload_marker, int max_uploads);

  // Completes: checks the list (InvalidPartOrder / InvalidPart / EntityTooSmall come back as
  // invalid_argument with the S3 code as message prefix "Code: ..."), writes one object row
  // whose blob is a manifest of the parts, frees parts left out, drops the upload.
  boost::asio::awaitable<Result<ObjectInfo>> complete(const Bucket& b, const UploadInfo& u, std::vector<CompletePart> parts,
                                                      WriteConditions cond, CompleteChecks checks);
  // Aborts: drops the upload and its parts, frees their usage.
  boost::asio::awaitable<Result<void>> abort(const Bucket& b, const UploadInfo& u);
  // Aborts every upload older than max_age (the sweeper's task). Returns how many.
  boost::asio::awaitable<std::int64_t> expire(std::chrono::seconds max_age);

  static constexpr std::int64_t kMinPartSize = 5 * 1024 * 1024;
  static constexpr int kMaxParts = 10000;

 private:
  Database& db_;
  BlobStore& blobs_;
  QuotaEngine& quota_;
};

// Opens bytes [offset, offset+length) of an object whose blob is a manifest (obj.parts > 0).
boost::asio::awaitable<Result<std::unique_ptr<BlobReader>>> open_multipart_object(Database& db, BlobStore& blobs,
                                                                                   const ObjectInfo& obj,
                                                                                   std::uint64_t offset,
                                                                                   std::uint64_t length);

}  // namespace depot::storage
