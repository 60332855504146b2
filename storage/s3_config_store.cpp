#include "storage/s3_config_store.hpp"

#include "storage/db.hpp"
#include "storage/object_rows.hpp"

namespace depot::storage {
namespace asio = boost::asio;

asio::awaitable<Result<TagMap>> S3ConfigStore::object_tags(BucketId b, std::string key) {
  auto r = co_await db_.tx([&](pqxx::work& w) -> std::optional<std::string> {
    auto rows = w.exec_params("SELECT coalesce(t.tags::text, '{}') FROM objects o LEFT JOIN s3_object_tags t "
                              "ON t.bucket_id = o.bucket_id AND t.key = o.key WHERE o.bucket_id = $1 AND o.key = $2",
                              b, key);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
  });
  if (!r) co_return make_error(Errc::no_such_key, "the object does not exist");
  co_return json_to_map(*r);
}

asio::awaitable<Result<void>> S3ConfigStore::set_object_tags(BucketId b, std::string key, TagMap tags,
                                                            std::optional<std::string> blob) {
  auto ok = co_await db_.tx([&](pqxx::work& w) {
    if (blob && w.exec_params("SELECT 1 FROM objects WHERE bucket_id = $1 AND key = $2 AND blob_id = $3 FOR UPDATE", b, key,
                              *blob)
                    .empty())
      return false;
    // FOR UPDATE, not FOR SHARE: the tag-count trigger (migration 103) then updates this row, and
    // two taggers each holding a share lock deadlocked upgrading it (then waited out retries).
    if (w.exec_params("SELECT 1 FROM objects WHERE bucket_id = $1 AND key = $2 FOR UPDATE", b, key).empty()) return false;
    if (tags.empty())
      w.exec_params("DELETE FROM s3_object_tags WHERE bucket_id = $1 AND key = $2", b, key);
    else
      w.exec_params("INSERT INTO s3_object_tags (bucket_id, key, tags) VALUES ($1, $2, $3::jsonb) "
                    "ON CONFLICT (bucket_id, key) DO UPDATE SET tags = excluded.tags",
                    b, key, map_to_json(tags));
    return true;
  });
  if (!ok) co_return make_error(Errc::no_such_key, "the object does not exist");
  co_return Result<void>{};
}

asio::awaitable<std::optional<TagMap>> S3ConfigStore::bucket_tags(BucketId b) {
  auto r = co_await db_.tx([&](pqxx::work& w) -> std::optional<std::string> {
    auto rows = w.exec_params("SELECT tags::text FROM s3_bucket_tags WHERE bucket_id = $1", b);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
  });
  if (!r) co_return std::nullopt;
  co_return json_to_map(*r);
}

asio::awaitable<void> S3ConfigStore::set_bucket_tags(BucketId b, std::optional<TagMap> tags) {
  co_await db_.tx([&](pqxx::work& w) {
    if (!tags)
      w.exec_params("DELETE FROM s3_bucket_tags WHERE bucket_id = $1", b);
    else
      w.exec_params("INSERT INTO s3_bucket_tags (bucket_id, tags) VALUES ($1, $2::jsonb) "
                    "ON CONFLICT (bucket_id) DO UPDATE SET tags = excluded.tags",
                    b, map_to_json(*tags));
    return true;
  });
}

asio::awaitable<std::optional<std::string>> S3ConfigStore::cors(BucketId b) {
  co_return co_await db_.tx([&](pqxx::work& w) -> std::optional<std::string> {
    auto rows = w.exec_params("SELECT rules #>> '{}' FROM s3_bucket_cors WHERE bucket_id = $1", b);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
  });
}

asio::awaitable<std::optional<std::string>> S3ConfigStore::cors_by_bucket_name(std::string name) {
  co_return co_await db_.tx([&](pqxx::work& w) -> std::optional<std::string> {
    auto rows = w.exec_params(
        "SELECT c.rules #>> '{}' FROM s3_bucket_cors c JOIN buckets b ON b.id = c.bucket_id WHERE b.name = $1", name);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
  });
}

asio::awaitable<void> S3ConfigStore::set_cors(BucketId b, std::optional<std::string> xml) {
  co_await db_.tx([&](pqxx::work& w) {
    if (!xml)
      w.exec_params("DELETE FROM s3_bucket_cors WHERE bucket_id = $1", b);
    else
      w.exec_params("INSERT INTO s3_bucket_cors (bucket_id, rules) VALUES ($1, to_jsonb($2::text)) "
                    "ON CONFLICT (bucket_id) DO UPDATE SET rules = excluded.rules",
                    b, *xml);
    return true;
  });
}

asio::awaitable<bool> S3ConfigStore::versioning_suspended(BucketId b) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    auto rows = w.exec_params("SELECT versioning_suspended FROM buckets WHERE id = $1", b);
    return !rows.empty() && rows[0][0].as<bool>();
  });
}

asio::awaitable<void> S3ConfigStore::suspend_versioning(BucketId b) {
  co_await db_.tx([&](pqxx::work& w) {
    w.exec_params("UPDATE buckets SET versioning_suspended = true WHERE id = $1", b);
    return true;
  });
}

}  // namespace depot::storage
