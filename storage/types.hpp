// Value types shared by the engine and its callers.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace depot::storage {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::microseconds>;

using UserId = std::int64_t;
using BucketId = std::int64_t;

struct Bucket {
  BucketId id = 0;
  std::string name;
  UserId owner = 0;
  std::string owner_name;
  std::string region;
  TimePoint created;
};

// The stored headers an object carries besides its content type. Keys are lower-case header
// names: content-encoding, content-disposition, content-language, cache-control, expires.
using HeaderMap = std::map<std::string, std::string>;
// User metadata without the x-amz-meta- prefix, keys lower-case.
using MetaMap = std::map<std::string, std::string>;

struct ObjectInfo {
  BucketId bucket = 0;
  std::string key;
  std::int64_t size = 0;
  std::string etag;          // without quotes: hex MD5, or hex-N for multipart
  std::string content_type;  // empty when the writer sent none
  TimePoint modified;        // Last-Modified (settable by WebDAV PROPPATCH / X-OC-Mtime)
  TimePoint created;
  MetaMap user_meta;
  HeaderMap headers;
  // Checksums by algorithm name upper-case (CRC32, CRC32C, CRC64NVME, SHA1, SHA256, MD5),
  // base64 as S3 returns them; "type" = FULL_OBJECT or COMPOSITE when multipart.
  std::map<std::string, std::string> checksums;
  std::string blob_id;
  int parts = 0;             // 0 for a single-part object
  // Part boundaries for partNumber GETs: sizes of each part, in order (empty when parts == 0).
  std::vector<std::int64_t> part_sizes;

  bool is_directory_marker() const { return !key.empty() && key.back() == '/'; }
};

// A page of a listing: objects and common prefixes in key order, merged.
struct ListEntry {
  bool is_prefix = false;
  std::string key;        // the object's key, or the common prefix (ends with the delimiter)
  ObjectInfo object;      // set when !is_prefix
};

struct ListPage {
  std::vector<ListEntry> entries;
  bool truncated = false;
  std::string next_marker;  // the last key or prefix returned; continue strictly after it
};

struct ListQuery {
  std::string prefix;
  std::string delimiter;    // empty: no grouping
  std::string start_after;  // exclusive
  int max_keys = 1000;      // 1..1000
};

struct Usage {
  std::int64_t bytes_used = 0;
  std::int64_t objects_used = 0;
  std::int64_t bytes_reserved = 0;
  std::int64_t bytes_limit = 0;               // from the plan or the override
  std::optional<std::int64_t> objects_limit;  // none = unlimited
  bool over_limit() const { return bytes_used > bytes_limit || (objects_limit && objects_used > *objects_limit); }
};

}  // namespace depot::storage
