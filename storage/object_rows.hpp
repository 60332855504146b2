// How objects are read from and written to SQL: one column list and one row parser, shared by
// the engine and the protocol-specific stores (multipart, WebDAV) that read objects.
#pragma once
#include <boost/json/object.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace depot::storage {

// SELECT list for ObjectInfo; alias the objects table as o.
inline constexpr const char* kObjectColumns =
    "o.bucket_id, o.key, o.blob_id, o.size, o.etag, o.content_type, o.user_meta::text, o.headers::text, "
    "o.checksums::text, o.parts, o.part_sizes::text, "
    "(extract(epoch from o.modified_at) * 1000000)::bigint, (extract(epoch from o.created_at) * 1000000)::bigint";
inline constexpr int kObjectColumnCount = 13;

boost::json::object map_to_json_object(const std::map<std::string, std::string>& m);
std::string map_to_json(const std::map<std::string, std::string>& m);
std::map<std::string, std::string> json_to_map(const std::string& json);
std::vector<std::int64_t> parse_bigint_array(const std::string& pg_array);
std::int64_t to_micros(TimePoint t);
TimePoint from_micros(std::int64_t us);

// Parses the kObjectColumns starting at column `first` of row (a pqxx::row or a PgRow).
template <class Row>
ObjectInfo object_from_row(const Row& row, int f = 0) {
  ObjectInfo o;
  o.bucket = row[f + 0].template as<BucketId>();
  o.key = row[f + 1].template as<std::string>();
  o.blob_id = row[f + 2].template as<std::string>();
  o.size = row[f + 3].template as<std::int64_t>();
  o.etag = row[f + 4].template as<std::string>();
  o.content_type = row[f + 5].template as<std::string>();
  o.user_meta = json_to_map(row[f + 6].template as<std::string>());
  o.headers = json_to_map(row[f + 7].template as<std::string>());
  o.checksums = json_to_map(row[f + 8].template as<std::string>());
  o.parts = row[f + 9].template as<int>();
  if (!row[f + 10].is_null()) o.part_sizes = parse_bigint_array(row[f + 10].template as<std::string>());
  o.modified = from_micros(row[f + 11].template as<std::int64_t>());
  o.created = from_micros(row[f + 12].template as<std::int64_t>());
  return o;
}

// A PostgreSQL array literal of text values, for `= ANY($1::text[])`.
std::string to_pg_text_array(const std::vector<std::string>& values);

// The smallest string greater than every string that starts with prefix (byte order), or
// nullopt when there is none. Used as the exclusive upper bound of a prefix range scan.
std::optional<std::string> prefix_upper_bound(const std::string& prefix);

}  // namespace depot::storage
