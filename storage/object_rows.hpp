// How objects are read from and written to SQL: one column list and one row parser, shared by
// the engine and the protocol-specific stores (multipart, WebDAV) that read objects.
#pragma once
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

// Parses the kObjectColumns starting at column `first` of row.
ObjectInfo object_from_row(const pqxx::row& row, int first = 0);

std::string map_to_json(const std::map<std::string, std::string>& m);
std::map<std::string, std::string> json_to_map(const std::string& json);

// A PostgreSQL array literal of text values, for `= ANY($1::text[])`.
std::string to_pg_text_array(const std::vector<std::string>& values);

// The smallest string greater than every string that starts with prefix (byte order), or
// nullopt when there is none. Used as the exclusive upper bound of a prefix range scan.
std::optional<std::string> prefix_upper_bound(const std::string& prefix);

std::int64_t to_micros(TimePoint t);
TimePoint from_micros(std::int64_t us);

}  // namespace depot::storage
