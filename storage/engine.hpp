// Engine: the one storage API under S3, WebDAV and the console.
//
// Every method is a coroutine that runs its SQL on the database pool (storage/db.hpp), never on
// the calling I/O thread; probe(), the one query of most requests, runs through libpq's
// asynchronous API instead (Database::query), which never blocks the I/O thread either. Methods that take a UserId act for that user: a bucket of another user
// is reported as access_denied (S3 shows AccessDenied) and never read or changed.
// Thread-safety: one Engine serves all threads; all methods may be called concurrently.
#pragma once
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/result.hpp"
#include "storage/blob_store.hpp"
#include "storage/types.hpp"

namespace pqxx { class transaction_base; class row; }

namespace depot::storage {

class Database;
class PgRow;

// Extra SQL a caller runs inside the transaction of an engine change (WebDAV moves, copies and
// deletes its dead properties and locks with the keys they belong to). It runs after the
// engine's own statements and may run again when the transaction is retried; throwing aborts
// the whole change.
using TxHook = std::function<void(pqxx::transaction_base&)>;
// A hook told which keys a multi-key delete removes (the keys whose conditions held).
using KeysHook = std::function<void(pqxx::transaction_base&, const std::vector<std::string>&)>;
class QuotaEngine;
class Reservation;

// Where an upload's bytes come from (an HTTP body, possibly decoded: aws-chunked, verified
// SHA-256...). read() returns 0 at the end; it may throw BodyError to make the engine discard
// the upload. After the end, extra_checksums() gives checksums the source computed that the
// engine should store with the object (algorithm -> base64).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual boost::asio::awaitable<std::size_t> read(char* buf, std::size_t n) = 0;
  virtual std::map<std::string, std::string> extra_checksums() { return {}; }
  // Reads until buf is full or the body ends (fewer than n bytes back means it ended): writers
  // hash and store large pieces, not whatever one socket read brought.
  boost::asio::awaitable<std::size_t> read_full(char* buf, std::size_t n);
};

struct WriteConditions {
  bool if_none_match_any = false;        // If-None-Match: *  -> fail if the key exists
  std::optional<std::string> if_match;   // ETag (no quotes) the current object must have
};

struct PutOptions {
  std::string content_type;
  MetaMap user_meta;
  HeaderMap headers;
  std::optional<std::uint64_t> declared_size;   // reserved in the quota up front when known
  std::optional<TimePoint> modified;            // otherwise now
  std::optional<std::string> expected_md5_hex;  // Content-MD5, verified -> bad_digest
  WriteConditions conditions;
  // The user's usage read moments ago in the request's first query (Engine::probe): begin_put
  // checks a small upload against it instead of reading it again.
  std::optional<Usage> known_usage;
  // known_usage is a moment older than the request (S3's cached probe): begin_put reads the usage
  // again before it refuses on it.
  bool known_usage_may_be_stale = false;
  // Set when this request did not confirm the access key and the bucket itself (the S3 API's
  // PutObject on a bucket it probed a moment ago): the commit confirms, in the statement that
  // writes the rows, that this key of the user is unrevoked, the user active and the bucket still
  // theirs, and otherwise writes nothing (access_denied, no_such_bucket).
  std::optional<std::string> verify_access_key;
  // Set when this request did not probe its own path (WebDAV's PUT of a small file into a bucket
  // it probed a moment ago): the commit writes the object only if, in the statement that writes
  // the rows, the user is active at credentials_version (otherwise unauthenticated), and the
  // bucket is still theirs, a key is under parent_prefix (unless empty: the bucket's root), no
  // key is under key + "/" (a collection) and no unexpired lock is rooted at one of lock_roots
  // (otherwise conflict, "recheck": the caller then decides with a probe, as for any write).
  struct DavChecks {
    std::int64_t credentials_version = 0;
    std::string parent_prefix;
    std::vector<std::string> lock_roots;
  };
  std::optional<DavChecks> dav_checks;
  // When set, finish_put stores here whether the write replaced an object (WebDAV: 204, not 201).
  bool* replaced = nullptr;
  // Runs in the transaction that commits the object, after its row is written (WebDAV: the
  // dead properties of a collection copied at Depth 0). Throwing fails the write.
  TxHook in_tx;
};

// An upload that passed every check that can be made before its body is read: the bucket is the
// user's, the conditions hold now, and the declared size is reserved in the quota. Move-only;
// dropping it unfinished releases the reservation.
class PutTicket {
 public:
  PutTicket();
  PutTicket(PutTicket&&) noexcept;
  PutTicket& operator=(PutTicket&&) noexcept;
  ~PutTicket();

  UserId user = 0;
  Bucket bucket;
  std::string key;
  PutOptions options;
  std::unique_ptr<Reservation> reservation;
  // A small upload of known size is not reserved (a reservation is a committed write to the
  // user's usage row, which every write of that user serializes on): its size was checked
  // against the quota when the ticket was made, and finish_put charges it with the same limit
  // check in its own transaction, so the limit still holds. This is that checked size.
  std::int64_t checked_bytes = 0;
};

enum class MetadataDirective { copy, replace };

struct CopyOptions {
  MetadataDirective directive = MetadataDirective::copy;
  PutOptions replacement;                 // used with replace
  WriteConditions dest_conditions;
  // Source conditions are the caller's: it reads the source with head_object first.
  std::optional<std::string> source_etag; // when set, the copy fails precondition_failed if the
                                          // source changed in between
  TxHook in_tx;                           // runs in the copy's transaction
  // The copy's checksums instead of the source's (x-amz-checksum-algorithm: computed by the
  // caller from the source's bytes, whose ETag source_etag then pins).
  std::optional<std::map<std::string, std::string>> checksums;
};

struct DeleteResult {
  bool existed = false;
};

struct EngineOptions {
  std::size_t inline_threshold = 64 * 1024;  // objects up to this size live in PostgreSQL
  std::uint64_t max_object_bytes = 5ull << 40;
};

class InlineBlobCache;
class PutCommitter;
class ProbeBatcher;

class Engine {
 public:
  Engine(Database& db, BlobStore& blobs, QuotaEngine& quota, EngineOptions opts = {});
  ~Engine();

  Database& db() { return db_; }
  BlobStore& blobs() { return blobs_; }
  QuotaEngine& quota() { return quota_; }

  // ---- buckets ----
  // Creates a bucket owned by user. bucket_owned_by_you / bucket_exists when taken,
  // invalid_name when the S3 naming rules refuse it.
  boost::asio::awaitable<Result<Bucket>> create_bucket(UserId user, std::string name, std::string region);
  // no_such_bucket; access_denied when another user's; bucket_not_empty unless force (which
  // deletes every object and frees the usage in one transaction).
  boost::asio::awaitable<Result<void>> delete_bucket(UserId user, std::string name, bool force = false,
                                                     TxHook in_tx = {});
  boost::asio::awaitable<Result<std::vector<Bucket>>> list_buckets(UserId user);
  // The bucket if it exists and is the user's.
  boost::asio::awaitable<Result<Bucket>> get_bucket(UserId user, std::string name);

  // What a request needs first, in one round trip: whether its credentials still hold, the
  // bucket (as get_bucket), the object (as head_object) and whether a collection prefix has any
  // key under it (as prefix_exists). The front-ends keep credentials they have verified (an S3
  // key's secret, a WebDAV password's hash check) and confirm them here on every request, so a
  // revoked key, a changed password or a suspended account is refused at once, on every server.
  struct ProbeQuery {
    UserId user = 0;
    std::string user_name;              // the name of `user`: a bucket of theirs has it as owner_name
    std::string access_key;             // confirm this S3 key is unrevoked and its owner active
    std::int64_t credentials_version = -1;  // or: confirm `user` is active at this version
    std::string bucket;                 // "" for none
    std::optional<std::string> key;     // the object to read
    bool prefetch = true;               // and its bytes when small and inline (for a GET that follows)
    std::optional<std::string> prefix;  // a collection prefix to test
    std::optional<std::string> parent_prefix;  // and another (WebDAV: the parent collection of a write's target)
    bool usage = false;                 // also read the user's usage and limits (before a PUT)
    std::vector<std::string> lock_roots;  // WebDAV: is any unexpired lock rooted at one of these?
  };
  struct Probe {
    bool credentials_valid = false;
    Result<Bucket> bucket = make_error(Errc::no_such_bucket, "the bucket does not exist");
    std::optional<Result<ObjectInfo>> object;  // when a key was asked for and the bucket is the user's
    bool prefix_exists = false;
    std::optional<bool> parent_exists;  // when parent_prefix was asked for and the bucket is the user's
    std::optional<Usage> usage;  // when asked for: PutOptions::known_usage
    bool locks_possible = true;  // false when lock_roots were given and no lock has one of them
  };
  boost::asio::awaitable<Probe> probe(ProbeQuery q);
  // Probes run, and the statements they took: probes that wait for a database connection
  // together are sent as one statement (engine.cpp, ProbeBatcher).
  // prefetch_skipped: GET probes that left out the object's bytes, held by this server already.
  struct ProbeStats {
    std::uint64_t probes = 0, statements = 0, prefetch_skipped = 0;
  };
  ProbeStats probe_stats() const;
  // Group-commit batches (engine.cpp, PutCommitter): committed as one statement, as one
  // transaction of several statements, and writes committed one at a time.
  struct CommitStats {
    std::uint64_t statements = 0, transactions = 0, alone = 0;
    std::uint64_t flushes = 0;  // barriers that made batches written as one statement durable
  };
  CommitStats commit_stats() const;

  // ---- objects ----
  boost::asio::awaitable<Result<ObjectInfo>> head_object(const Bucket& b, std::string key);

  // Step 1 of a write: checks and reserves before the body is read (quota_exceeded,
  // precondition_failed, invalid_name for a key over 1024 bytes).
  boost::asio::awaitable<Result<PutTicket>> begin_put(UserId user, const Bucket& b, std::string key, PutOptions opts);
  // Step 2: streams the body into a new blob (hashing MD5), makes it durable, then commits the
  // object and the usage in one transaction. Errors: bad_digest, quota_exceeded (an unknown-size
  // body that grew past the limit), precondition_failed (the key changed meanwhile),
  // storage_full, or a BodyError's error. Nothing is visible unless this returns a value.
  boost::asio::awaitable<Result<ObjectInfo>> finish_put(PutTicket ticket, BodySource& body);

  // Opens an object's bytes [offset, offset+length) for streaming.
  boost::asio::awaitable<Result<std::unique_ptr<BlobReader>>> open_object(const ObjectInfo& obj, std::uint64_t offset,
                                                                          std::uint64_t length);

  boost::asio::awaitable<Result<DeleteResult>> delete_object(const Bucket& b, std::string key,
                                                             WriteConditions cond = {}, TxHook in_tx = {});
  // Deletes every key in keys (S3 DeleteObjects): one transaction, per-key outcome. if_match,
  // when not empty, holds one entry per key: the ETag (or "*") that key's object must have, as
  // check_conditions does for one delete; a key whose condition fails is kept and gets its error.
  boost::asio::awaitable<Result<std::vector<Result<DeleteResult>>>> delete_objects(
      const Bucket& b, std::vector<std::string> keys, KeysHook in_tx,
      std::vector<std::optional<std::string>> if_match);
  // Deletes every key starting with prefix in one transaction. Returns how many.
  boost::asio::awaitable<Result<std::int64_t>> delete_prefix(const Bucket& b, std::string prefix, TxHook in_tx = {});

  // Deletes, inside the transaction of another change (from its TxHook), the key or, with
  // prefix, every key under it but `keep`, and credits the owner. Returns the blob files to
  // remove once that change committed (blobs().remove_all). WebDAV COPY and MOVE with
  // Overwrite: T replace their destination this way: all or nothing with the copy or move.
  static std::vector<std::string> delete_in(pqxx::transaction_base& w, const Bucket& b, const std::string& key,
                                            bool prefix, const std::string& keep = {});

  // Copies one object, sharing its blob (no data copied). The copy counts against dst's
  // owner's quota. For a self-copy, directive must be replace (the caller checks).
  boost::asio::awaitable<Result<ObjectInfo>> copy_object(UserId user, const Bucket& src, std::string src_key,
                                                         const Bucket& dst, std::string dst_key, CopyOptions opts);
  // Copies every key under src_prefix to dst_prefix + rest (WebDAV COPY Depth infinity), sharing
  // blobs; with overwrite, existing keys under dst_prefix are deleted first. One transaction.
  boost::asio::awaitable<Result<std::int64_t>> copy_prefix(UserId user, const Bucket& src, std::string src_prefix,
                                                           const Bucket& dst, std::string dst_prefix, bool overwrite,
                                                           TxHook in_tx = {});
  // Renames one key (metadata only). conflict if dst exists and !overwrite.
  boost::asio::awaitable<Result<ObjectInfo>> rename_object(const Bucket& src, std::string src_key, const Bucket& dst,
                                                           std::string dst_key, bool overwrite, TxHook in_tx = {});
  // Renames every key under src_prefix (WebDAV MOVE of a collection): metadata only, one
  // transaction however many keys. With overwrite, keys under dst_prefix are deleted first.
  boost::asio::awaitable<Result<std::int64_t>> rename_prefix(const Bucket& src, std::string src_prefix,
                                                             const Bucket& dst, std::string dst_prefix, bool overwrite,
                                                             TxHook in_tx = {});

  // Sets Last-Modified / user metadata of an existing object without touching its bytes.
  boost::asio::awaitable<Result<ObjectInfo>> set_modified(const Bucket& b, std::string key, TimePoint when);

  // One page of keys in byte order. With a delimiter, every group of keys sharing prefix+X+delim
  // is one entry, and the group is skipped by an index seek, not read.
  boost::asio::awaitable<Result<ListPage>> list(const Bucket& b, ListQuery q);
  // True when at least one key starts with prefix (an implied or marked collection).
  boost::asio::awaitable<Result<bool>> prefix_exists(const Bucket& b, std::string prefix);
  // Keys under prefix whose rest (after the prefix) contains needle, ignoring case (the console's
  // search by name). Bounded: one call reads at most scan_limit keys after start_after, in key
  // order; when it stops early (scan limit or max_keys matches), truncated is set and next_marker
  // is where to continue, so a caller pages through a bucket of any size.
  boost::asio::awaitable<Result<ListPage>> search(const Bucket& b, std::string prefix, std::string needle,
                                                  std::string start_after, int max_keys, int scan_limit = 10000);

  static bool valid_bucket_name(std::string_view name);
  static constexpr std::size_t max_key_bytes = 1024;

 private:
  Database& db_;
  BlobStore& blobs_;
  QuotaEngine& quota_;
  EngineOptions opts_;
  // Bytes of small inline blobs read by head_object, for the open_object that usually follows
  // (a blob's bytes never change under its id, so an entry cannot go stale).
  std::unique_ptr<InlineBlobCache> inline_cache_;
  // The usage begin_put checks a write against: opts.known_usage, or read now (also when the
  // known one may be stale and `refuses` it).
  boost::asio::awaitable<Result<Usage>> usage_for_put(UserId user, const PutOptions& opts,
                                                      bool (*refuses)(const Usage&, std::uint64_t), std::uint64_t size);
  // An object's columns at `first` followed by its prefetched inline bytes (kept in the cache).
  // `name` (InlineBlobCache::name_of): where it was read, so that a later GET's probe can skip
  // bytes the cache holds.
  ObjectInfo object_with_prefetch(const pqxx::row& r, int first, std::string name = {});
  ObjectInfo object_with_prefetch(const PgRow& r, int first, std::string name = {});
  // Group commit of finish_put's transactions (see engine.cpp).
  std::unique_ptr<PutCommitter> committer_;
  // probe()'s statements that waited for a database connection together, sent as one (engine.cpp).
  std::unique_ptr<ProbeBatcher> probes_;
  std::atomic<std::uint64_t> prefetch_skipped_{0};
};

}  // namespace depot::storage
