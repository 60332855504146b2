// S3-only state the engine does not model: object and bucket tags, bucket CORS rules
// (migration 101). Object tags live and die with the object row (FK cascade).
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <map>
#include <optional>
#include <string>

#include "src/result.hpp"
#include "storage/types.hpp"

namespace depot::storage {

class Database;
using TagMap = std::map<std::string, std::string>;

class S3ConfigStore {
 public:
  explicit S3ConfigStore(Database& db) : db_(db) {}

  // no_such_key when the object does not exist.
  boost::asio::awaitable<Result<TagMap>> object_tags(BucketId b, std::string key);
  // no_such_key when there is no such object; with blob, also when the object there now is
  // another (a newer write replaced the one the tags were sent with: they are moot).
  boost::asio::awaitable<Result<void>> set_object_tags(BucketId b, std::string key, TagMap tags,
                                                       std::optional<std::string> blob = std::nullopt);
  boost::asio::awaitable<std::optional<TagMap>> bucket_tags(BucketId b);
  boost::asio::awaitable<void> set_bucket_tags(BucketId b, std::optional<TagMap> tags);  // nullopt deletes

  // The CORS configuration document (XML as the client sent it), by bucket id or, for
  // unauthenticated preflights, by bucket name.
  boost::asio::awaitable<std::optional<std::string>> cors(BucketId b);
  boost::asio::awaitable<std::optional<std::string>> cors_by_bucket_name(std::string name);
  boost::asio::awaitable<void> set_cors(BucketId b, std::optional<std::string> xml);  // nullopt deletes

  // PutBucketVersioning Suspended was sent (versioning itself is not offered).
  boost::asio::awaitable<bool> versioning_suspended(BucketId b);
  boost::asio::awaitable<void> suspend_versioning(BucketId b);

 private:
  Database& db_;
};

}  // namespace depot::storage
