// The S3 front-end: route, authenticate (SigV4), dispatch to the operation's family.
#include "protocols/s3/s3_handler.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <mutex>
#include <spdlog/spdlog.h>
#include <unordered_map>

#include "auth/access_keys.hpp"
#include "auth/throttle.hpp"
#include "protocols/s3/context.hpp"
#include "src/utf8.hpp"
#include "protocols/s3/cors.hpp"
#include "storage/engine.hpp"
#include "storage/multipart_store.hpp"
#include "storage/put_probe_cache.hpp"
#include "storage/s3_config_store.hpp"
#include "storage/sweeper.hpp"

namespace depot::s3 {
namespace {

// The shared brute-force defence (auth::Throttle, counters in PostgreSQL, the same as console
// logins and WebDAV) seen from S3: signature failures count per address, and a banned address
// is refused before any signature is checked (S3 leaves accounts alone: see authenticate). "Not banned" answers
// are remembered for a second per (address, account) so a busy client costs no query per
// request; a failure forgets the pair at once, so the ban that follows is seen by the next
// request on this server (and within a second on the others).
class BanCheck {
 public:
  BanCheck(App& app) : throttle_(app.db, app.config) {}

  // Seconds left when banned.
  asio::awaitable<std::optional<std::int64_t>> banned(const std::string& addr, const std::string& account) {
    auto k = addr + '\n' + account;
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lk(mu_);
      auto it = clear_.find(k);
      if (it != clear_.end() && it->second > now) co_return std::nullopt;
    }
    auto left = co_await throttle_.banned(addr, account);
    if (!left) {
      std::lock_guard lk(mu_);
      if (clear_.size() > 50000) clear_.clear();
      clear_[k] = now + std::chrono::seconds(1);
    }
    co_return left;
  }

  // Counts a failure, then waits the back-off the throttle asks for.
  asio::awaitable<void> failed(const std::string& addr, const std::string& account) {
    {
      std::lock_guard lk(mu_);
      clear_.erase(addr + '\n' + account);
    }
    auto wait = co_await throttle_.record_failure(addr, account);
    if (wait.count() > 0) {
      auto ex = co_await asio::this_coro::executor;
      asio::steady_timer t(ex);
      t.expires_after(wait);
      co_await t.async_wait(asio::use_awaitable);
    }
  }

 private:
  auth::Throttle throttle_;
  std::mutex mu_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> clear_;
};

// Secrets of access keys this server has verified, so a request on a bucket needs no key lookup
// of its own: Engine::probe confirms in the same round trip as the bucket (and object) that the
// key is still unrevoked and its owner active. A key's secret never changes; only its validity
// does, and that is read from PostgreSQL on every request.
class KeyCache {
 public:
  std::optional<auth::AccessKey> get(const std::string& id) {
    std::lock_guard lk(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end()) return std::nullopt;
    return it->second;
  }
  void put(const auth::AccessKey& k) {
    std::lock_guard lk(mu_);
    if (keys_.size() >= 10000) keys_.clear();
    keys_[k.id] = k;
  }
  void drop(const std::string& id) {
    std::lock_guard lk(mu_);
    keys_.erase(id);
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, auth::AccessKey> keys_;
};

// PutObject's probes, kept a second per access key and bucket (storage/put_probe_cache.hpp).
// Requests that wait for 100 Continue are owed a refusal over the quota before their bodies, so
// they are always probed. 4 KiB PutObject at 32 connections, A/B: 0.33-0.40 -> 0.26-0.31 ms of
// CPU (depot and PostgreSQL) per PUT, about 10% more PUTs per second.
using storage::PutProbeCache;

S3Error banned_error(std::int64_t seconds_left) {
  S3Error e = s3_error(403, "AccessDenied",
                       "Too many failed authentication attempts from this address; try again in " +
                           std::to_string(seconds_left) + " seconds.");
  e.retry_after = std::to_string(seconds_left);
  return e;
}

class S3Handler final : public http::Handler {
 public:
  explicit S3Handler(App& app) : app_(app), multipart_(app.db, app.blobs, app.quota), config_(app.db), bans_(app) {
    auto max_age = app.config.multipart_max_age;
    app.sweeper.add_task("s3-multipart-expiry", [this, max_age]() -> asio::awaitable<void> {
      co_await multipart_.expire(max_age);
    });
  }
  asio::awaitable<void> handle(http::Exchange& ex) override;

 private:
  asio::awaitable<std::optional<S3Error>> authenticate(Ctx& c);
  // The request is signed by key: it acts as the key's user from here on.
  static void accept(Ctx& c, const auth::AccessKey& key, const auth::sigv4::ParsedAuth& a,
                     std::optional<auth::sigv4::SigningContext> signer) {
    c.user = key.user;
    c.user_name = key.user_name;
    c.access_key = key.id;
    c.payload_hash = a.payload_hash;
    if (!a.presigned) c.signer = std::move(signer);
    if (a.presigned) hoist_query_headers(c);
  }
  // A presigner may move x-amz-* headers (x-amz-meta-*, x-amz-tagging, ...) into the signed
  // query, where S3 reads them as the headers they stand for. A header sent too wins. Checksums
  // are left out, as S3 ignores them there: the JS SDK's default presigned PUT carries the CRC of
  // an empty body (x-amz-checksum-crc32=AAAAAA==), which would refuse every upload through it.
  static void hoist_query_headers(Ctx& c) {
    for (const auto& [name, value] : c.op.query) {
      if (name.size() <= 6 || !boost::beast::iequals(std::string_view(name).substr(0, 6), "x-amz-")) continue;
      std::string_view rest = std::string_view(name).substr(6);
      if (rest.size() >= 9 && boost::beast::iequals(rest.substr(0, 9), "checksum-")) continue;
      if (boost::beast::iequals(rest, "sdk-checksum-algorithm") || boost::beast::iequals(rest, "content-sha256")) continue;
      static constexpr std::string_view kAuthParams[] = {"algorithm", "credential", "date", "expires",
                                                         "signedheaders", "signature", "security-token"};
      bool auth_param = false;
      for (auto p : kAuthParams) auth_param = auth_param || boost::beast::iequals(std::string_view(name).substr(6), p);
      if (auth_param || !c.ex.header(name).empty()) continue;
      c.ex.add_request_header(name, value);
    }
  }
  asio::awaitable<void> dispatch(Ctx& c);
  App& app_;
  storage::MultipartStore multipart_;
  storage::S3ConfigStore config_;
  BanCheck bans_;
  KeyCache keys_;
  PutProbeCache put_probes_;
};

asio::awaitable<std::optional<S3Error>> S3Handler::authenticate(Ctx& c) {
  namespace sigv4 = auth::sigv4;
  auto parsed = sigv4::parse_request_auth(c.ex.request());
  if (parsed.error) co_return from_auth(*parsed.error);
  if (!parsed.auth) co_return s3_error(403, "AccessDenied", "Access Denied");
  if (auto wrong = sigv4::check_region(*parsed.auth, app_.config.region)) co_return from_auth(*wrong);
  const std::string addr = c.ex.info().remote_addr;
  if (!c.op.bucket.empty()) {
    if (auto known = keys_.get(parsed.auth->access_key)) {
      // A key verified before: check the signature with its secret, then confirm the key along
      // with the bucket (and, for GET/HEAD, the object) in one query.
      auto left = co_await bans_.banned(addr, "");
      if (left) co_return banned_error(*left);
      auto v = sigv4::verify_request(c.ex.request(), *parsed.auth, known->secret, std::chrono::system_clock::now());
      if (v.error) {
        if (v.error->code == "SignatureDoesNotMatch") co_await bans_.failed(addr, "");
        co_return from_auth(*v.error);
      }
      // Not when the client waits for 100 Continue: it is owed a refusal over the quota before it
      // sends the body, so its usage is read now, not taken from a moment ago.
      if (c.op.op == Op::PutObject && c.ex.header(bhttp::field::expect).empty()) {
        if (auto e = put_probes_.get(known->id, c.op.bucket)) {
          accept(c, *known, *parsed.auth, std::move(v.context));
          c.probed_bucket = std::move(e->bucket);
          c.probed_usage = e->usage;
          c.probe_skipped = true;
          c.forget_probe = [this, id = known->id, bucket = c.op.bucket] { put_probes_.drop(id, bucket); };
          co_return std::nullopt;
        }
      }
      storage::Engine::ProbeQuery q;
      q.user = known->user;
      q.user_name = known->user_name;
      q.access_key = known->id;
      q.bucket = c.op.bucket;
      if (c.op.op == Op::GetObject || c.op.op == Op::HeadObject) q.key = c.op.key;
      q.prefetch = c.op.op == Op::GetObject;
      q.usage = c.op.op == Op::PutObject;
      auto probe = co_await app_.engine.probe(std::move(q));
      if (probe.credentials_valid) {
        if (c.op.op == Op::PutObject && probe.bucket && probe.usage)
          put_probes_.put(known->id, c.op.bucket, probe.bucket.value(), *probe.usage);
        accept(c, *known, *parsed.auth, std::move(v.context));
        c.probed_bucket = std::move(probe.bucket);
        c.probed_object = std::move(probe.object);
        c.probed_usage = std::move(probe.usage);
        co_return std::nullopt;
      }
      keys_.drop(known->id);  // revoked or suspended since: the full check below says which
    }
  }
  if (!valid_utf8(parsed.auth->access_key))  // no such key can exist (and PostgreSQL would refuse the text)
    co_return s3_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
  auto key = co_await app_.keys.lookup(parsed.auth->access_key);
  if (!key && key.code() != Errc::not_found) co_return from_engine(key.error());
  // Brute-force defence: a banned address or account is refused before any signature check.
  // 403 AccessDenied rather than 503 SlowDown: SDKs retry SlowDown for a few seconds with
  // back-off, which only hammers a ban that lasts minutes; AccessDenied fails at once with the
  // reason, and Retry-After says when to come back.
  // By address only: a secret key cannot be guessed through signatures, and an account-wide ban
  // (which anyone knowing the user's name or a key id could trigger from elsewhere) would cut the
  // owner's correctly signed requests off.
  auto left = co_await bans_.banned(addr, "");
  if (left) co_return banned_error(*left);
  if (!key) {
    co_await bans_.failed(addr, "");
    S3Error e = s3_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
    e.details = {{"AWSAccessKeyId", parsed.auth->access_key}};
    co_return e;
  }
  if (!key->user_active) co_return s3_error(403, "AccessDenied", "The account of this access key is not active.");
  auto v = sigv4::verify_request(c.ex.request(), *parsed.auth, key->secret, std::chrono::system_clock::now());
  if (v.error) {
    // Only a wrong signature is a guess at the secret; an expired URL or a skewed clock is not.
    if (v.error->code == "SignatureDoesNotMatch") co_await bans_.failed(addr, "");
    co_return from_auth(*v.error);
  }
  keys_.put(*key);
  accept(c, *key, *parsed.auth, std::move(v.context));
  co_return std::nullopt;
}

namespace {
bool takes_version_id(Op op) {
  switch (op) {
    case Op::GetObject:
    case Op::HeadObject:
    case Op::GetObjectAttributes:
    case Op::DeleteObject:
    case Op::GetObjectAcl:
    case Op::PutObjectAcl:
    case Op::GetObjectTagging:
    case Op::PutObjectTagging:
    case Op::DeleteObjectTagging:
      return true;
    default:
      return false;
  }
}
}  // namespace

asio::awaitable<void> S3Handler::handle(http::Exchange& ex) {
  ex.info().protocol = "s3";
  auto routed = route(ex.request(), app_.config.s3_base_domain);
  if (routed.error) {
    Ctx c{app_, ex, routed.operation ? std::move(*routed.operation) : Operation{}};
    co_await respond_error(c, *routed.error);
    co_return;
  }
  Ctx c{app_, ex, std::move(*routed.operation)};
  c.multipart = &multipart_;
  c.s3config = &config_;
  ex.info().operation = op_name(c.op.op);
  std::optional<S3Error> failed;
  try {
    // Browsers send preflights without credentials: they are answered from the bucket's CORS rules.
    if (c.op.op == Op::Preflight) {
      co_await handle_cors_op(c);
      co_return;
    }
    if (!c.op.bucket.empty() && !ex.header(bhttp::field::origin).empty()) co_await load_cors_headers(c);
    auto err = co_await authenticate(c);
    if (err) {
      co_await respond_error(c, *err);
      co_return;
    }
    ex.info().user = c.user_name;
    // A bucket deleted or made anew is another bucket (another id) under the same name: what
    // this server remembers of the old one must not answer a PUT into the new one.
    if (c.op.op == Op::DeleteBucket || c.op.op == Op::CreateBucket) put_probes_.drop_bucket(c.op.bucket);
    co_await dispatch(c);
    if (c.op.op == Op::DeleteBucket || c.op.op == Op::CreateBucket) put_probes_.drop_bucket(c.op.bucket);
  } catch (const BodyError& e) {
    failed = from_engine(e.error);
  } catch (const pqxx::foreign_key_violation& e) {
    // The bucket went while the request was under way (deleted during an upload's body).
    if (std::string_view(e.what()).find("bucket_id") != std::string_view::npos) {
      failed = s3_error(404, "NoSuchBucket", "The specified bucket does not exist");
    } else {
      spdlog::error("s3 {}: database error: {}", op_name(c.op.op), e.what());
      failed = s3_error(503, "ServiceUnavailable", "Please reduce your request rate.");
    }
  } catch (const pqxx::failure& e) {
    spdlog::error("s3 {}: database error: {}", op_name(c.op.op), e.what());
    failed = s3_error(503, "ServiceUnavailable", "Please reduce your request rate.");
  }
  if (failed && !ex.responded()) co_await respond_error(c, *failed);
}

asio::awaitable<void> S3Handler::dispatch(Ctx& c) {
  // Buckets are unversioned: an object's one version is "null", and any other id names no
  // version (S3 refuses it the same way, and a delete must not take the current object for it).
  if (takes_version_id(c.op.op) && c.op.has("versionId") && c.op.get("versionId") != "null")
    co_return co_await respond_error(c, s3_error(400, "InvalidArgument", "Invalid version id specified"));
  // The owner a request expects its buckets to have (ListBuckets' Owner ID: the user's name).
  // Every bucket a request reaches is its user's, so any other owner named is a refusal.
  for (auto h : {"x-amz-expected-bucket-owner", "x-amz-source-expected-bucket-owner"})
    if (auto want = c.header(h); !want.empty() && want != c.user_name)
      co_return co_await respond_error(c, s3_error(403, "AccessDenied", "Access Denied"));
  switch (c.op.op) {
    case Op::ListBuckets:
    case Op::CreateBucket:
    case Op::DeleteBucket:
    case Op::HeadBucket:
    case Op::GetBucketLocation:
    case Op::GetBucketVersioning:
    case Op::PutBucketVersioning:
    case Op::GetBucketAbsentConfig:
    case Op::DeleteBucketAbsentConfig:
      co_await handle_bucket_op(c);
      co_return;
    case Op::GetBucketAcl:
    case Op::PutBucketAcl:
    case Op::GetObjectAcl:
    case Op::PutObjectAcl:
      co_await handle_acl_op(c);
      co_return;
    case Op::ListObjects:
    case Op::ListObjectsV2:
    case Op::ListObjectVersions:
      co_await handle_list_op(c);
      co_return;
    case Op::PutObject:
      co_await handle_put_object(c);
      co_return;
    case Op::CopyObject:
      co_await handle_copy_object(c);
      co_return;
    case Op::GetObject:
    case Op::HeadObject:
    case Op::GetObjectAttributes:
      co_await handle_get_object(c);
      co_return;
    case Op::DeleteObject:
    case Op::DeleteObjects:
      co_await handle_delete_op(c);
      co_return;
    case Op::GetBucketTagging:
    case Op::PutBucketTagging:
    case Op::DeleteBucketTagging:
    case Op::GetObjectTagging:
    case Op::PutObjectTagging:
    case Op::DeleteObjectTagging:
      co_await handle_tagging_op(c);
      co_return;
    case Op::GetBucketCors:
    case Op::PutBucketCors:
    case Op::DeleteBucketCors:
    case Op::Preflight:
      co_await handle_cors_op(c);
      co_return;
    case Op::ListMultipartUploads:
    case Op::CreateMultipartUpload:
    case Op::UploadPart:
    case Op::UploadPartCopy:
    case Op::CompleteMultipartUpload:
    case Op::AbortMultipartUpload:
    case Op::ListParts:
      co_await handle_multipart_op(c);
      co_return;
  }
  co_await respond_error(c, s3_error(501, "NotImplemented", "This operation is not implemented."));
}

}  // namespace

void add_cors(const Ctx& c, http::ResponseHeader& h) {
  for (auto& [k, v] : c.cors_headers) h.set(k, v);
}

asio::awaitable<void> respond_error(Ctx& c, const S3Error& e) {
  auto res = http::make_response(c.ex, static_cast<bhttp::status>(e.status), {}, "application/xml");
  if (!c.is_head()) res.body() = error_xml(e, c.op.resource(), c.ex.info().request_id);
  else res.content_length(0);
  add_cors(c, res.base());
  if (!e.retry_after.empty()) res.set(bhttp::field::retry_after, e.retry_after);
  else if (e.status == 503) res.set(bhttp::field::retry_after, "1");
  co_await c.ex.respond(std::move(res));
}

asio::awaitable<void> respond_xml(Ctx& c, std::string xml, bhttp::status st) {
  auto res = http::make_response(c.ex, st, std::move(xml), "application/xml");
  add_cors(c, res.base());
  co_await c.ex.respond(std::move(res));
}

asio::awaitable<void> respond_empty(Ctx& c, bhttp::status st, HeaderList headers) {
  auto res = http::make_response(c.ex, st);
  for (auto& [k, v] : headers) res.set(k, v);
  add_cors(c, res.base());
  if (c.is_head()) res.content_length(0);
  co_await c.ex.respond(std::move(res));
}

asio::awaitable<std::optional<storage::Bucket>> require_bucket(Ctx& c) {
  Result<storage::Bucket> b = make_error(Errc::no_such_bucket, "unset");
  if (c.probed_bucket) {
    b = std::move(*c.probed_bucket);
    c.probed_bucket.reset();
  } else {
    b = co_await c.app.engine.get_bucket(c.user, c.op.bucket);
  }
  if (!b) {
    co_await respond_error(c, from_engine(b.error(), Subject::bucket));
    co_return std::nullopt;
  }
  co_return std::move(b.value());
}

std::unique_ptr<http::Handler> make_s3_handler(App& app) { return std::make_unique<S3Handler>(app); }

}  // namespace depot::s3
