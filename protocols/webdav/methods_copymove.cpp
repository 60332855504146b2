// COPY and MOVE (RFC 4918 9.8, 9.9). Collections move and copy in one engine transaction each
// (rename_prefix / copy_prefix): metadata only, no data copied, however large the tree.
#include "protocols/webdav/dav_headers.hpp"
#include "protocols/webdav/error.hpp"
#include "protocols/webdav/methods.hpp"
#include "storage/dav_store.hpp"

namespace depot::webdav {

namespace {

// Keys under a collection start with this prefix; the bucket root's prefix is "".
std::string tree_prefix(const Resource& r) { return r.type == Resource::Type::bucket ? std::string() : r.path.collection_prefix(); }

// An authority as compared: host names are case-insensitive, and the scheme's default port may
// be written or not (RFC 3986 6.2.2.1, 6.2.3).
std::string normal_authority(std::string_view a, bool tls) {
  std::string out(a);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string_view default_port = tls ? ":443" : ":80";
  if (out.ends_with(default_port)) out.resize(out.size() - default_port.size());
  return out;
}

}  // namespace

asio::awaitable<void> handle_copy_move(Ctx& c, bool move) {
  auto dest_h = c.ex.header("Destination");
  if (dest_h.empty()) co_return co_await respond_status(c, 400, "Destination header missing");
  auto dest_uri = parse_destination(dest_h);
  if (!dest_uri) co_return co_await respond_status(c, 400, "malformed Destination header");
  if (!dest_uri->authority.empty()) {
    auto host = c.ex.header(bhttp::field::host);
    bool tls = c.ex.info().tls;
    if (normal_authority(dest_uri->authority, tls) != normal_authority(host, tls))
      co_return co_await respond_status(c, 502, "Destination is on another server");
  }
  auto dpath = parse_dav_path(strip_fragment(dest_uri->path));
  if (!dpath) {
    if (dest_uri->path != "/dav" && !dest_uri->path.starts_with("/dav/"))
      co_return co_await respond_status(c, 502, "Destination is outside the WebDAV namespace");
    co_return co_await respond_error(c, dpath.error());
  }
  auto overwrite = parse_overwrite(c.ex.header("Overwrite"));
  if (!overwrite) co_return co_await respond_status(c, 400, "Overwrite must be T or F");
  auto depth = parse_depth(c.ex.header("Depth"), Depth::infinity);
  if (!depth || *depth == Depth::one) co_return co_await respond_status(c, 400, "Depth must be 0 or infinity");

  auto src = co_await resolve(c, c.path);
  if (!src) co_return co_await respond_error(c, src.error());
  if (!src->exists()) co_return co_await respond_status(c, 404, "not found");
  if (src->type == Resource::Type::root || src->type == Resource::Type::bucket)
    co_return co_await respond_status(c, 403, "buckets and the root cannot be copied or moved");
  if (move && src->is_collection() && *depth != Depth::infinity)
    co_return co_await respond_status(c, 400, "MOVE of a collection needs Depth: infinity");

  if (dpath->kind != DavPath::Kind::member)
    co_return co_await respond_status(c, 403, "the destination must be inside a bucket");
  auto dst = co_await resolve(c, *dpath);
  if (!dst) co_return co_await respond_error(c, dst.error());
  if (!dst->bucket) co_return co_await respond_status(c, 409, "the destination's parent collection does not exist");

  bool src_coll = src->is_collection();
  // Same resource, or one inside the other.
  if (src->bucket->id == dst->bucket->id) {
    std::string s = src_coll ? src->path.collection_prefix() : src->path.key;
    std::string d = dpath->key + (src_coll ? "/" : "");
    if (s == d || (src_coll && d.starts_with(s)))
      co_return co_await respond_status(c, 403, "the source and destination are the same or nested");
    if (dst->is_collection() && s.starts_with(dst->path.collection_prefix()) && dst->exists() && *overwrite)
      co_return co_await respond_status(c, 403, "the destination contains the source");
  }
  auto parent = co_await parent_exists(c, *dst);
  if (!parent) co_return co_await respond_error(c, parent.error());
  if (!*parent) co_return co_await respond_status(c, 409, "the destination's parent collection does not exist");
  if (dst->exists() && !*overwrite) co_return co_await respond_status(c, 412, "the destination exists (Overwrite: F)");

  const bool existed = dst->exists();
  std::vector<WriteTarget> targets;
  if (move) targets.push_back({&*src, true, true});
  targets.push_back({&*dst, true, !existed});
  // The If header's untagged lists are about the request's resource: the source, for COPY too.
  if (co_await check_write(c, targets, true, &*src)) co_return;
  if (co_await http_preconditions_fail(c, *src)) co_return;

  // Dead properties move or copy with the keys, and the source's locks go on MOVE, in the
  // engine's transaction (a TxHook): all or nothing with the change they belong to. With
  // Overwrite: T the destination goes in that transaction too (RFC 4918 9.8.4, 9.9.3): when the
  // copy or move fails (over the quota, say), the destination is still there.
  // (Hooks are named locals: GCC 12 and lambda temporaries inside co_await do not mix.)
  using storage::DavStore;
  auto& engine = c.app.engine;
  const auto& sb = *src->bucket;
  const auto& db = *dst->bucket;
  const storage::BucketId sid = sb.id, did = db.id;
  const std::string src_lock = src->lock_path();
  const bool dst_coll = existed && dst->is_collection();
  const bool depth0_copy = src_coll && !move && *depth == Depth::zero;
  // The engine's own overwrite replaces a destination of the source's kind; a destination of the
  // other kind, and the members of a collection a Depth 0 copy replaces by an empty one, go here.
  const bool clear_keys = existed && (dst_coll != src_coll || (dst_coll && depth0_copy));
  const std::string dst_key = existed ? dst->props_key() : std::string();
  const std::string keep = depth0_copy ? dpath->collection_prefix() : std::string();
  const std::string dst_lock = dst->lock_path();
  const storage::Bucket dst_bucket = db;
  auto unlink = std::make_shared<std::vector<std::string>>();
  storage::TxHook replace = [=](pqxx::transaction_base& w) {
    if (!existed) return;
    if (clear_keys) *unlink = storage::Engine::delete_in(w, dst_bucket, dst_key, dst_coll, keep);
    DavStore::delete_props_in(w, did, dst_key, dst_coll);
    DavStore::remove_locks_in(w, dst_lock, dst_coll);
  };
  if (src_coll) {
    const std::string sp = tree_prefix(*src);
    const std::string dp = dpath->collection_prefix();
    if (move) {
      storage::TxHook hook = [=](pqxx::transaction_base& w) {
        replace(w);
        DavStore::move_props_in(w, sid, sp, did, dp, true);
        DavStore::remove_locks_in(w, src_lock, true);
      };
      auto n = co_await engine.rename_prefix(sb, sp, db, dp, true, hook);
      if (!n) co_return co_await respond_error(c, n.error());
    } else if (*depth == Depth::infinity) {
      // An implied collection's copy is implied by its members too; nothing else to create.
      storage::TxHook hook = [=](pqxx::transaction_base& w) {
        replace(w);
        DavStore::copy_props_in(w, sid, sp, did, dp, true);
      };
      auto n = co_await engine.copy_prefix(c.user.id, sb, sp, db, dp, true, hook);
      if (!n) co_return co_await respond_error(c, n.error());
    } else {
      // Depth 0: a new empty collection with the source collection's own properties, in one
      // transaction.
      storage::TxHook hook = [=](pqxx::transaction_base& w) {
        replace(w);
        DavStore::copy_props_in(w, sid, sp, did, dp, false);
      };
      auto o = co_await put_empty(c, db, dp, {}, std::move(hook));
      if (!o) co_return co_await respond_error(c, o.error());
    }
  } else {
    const std::string sk = src->path.key;
    const std::string dk = dpath->key;
    if (move) {
      storage::TxHook hook = [=](pqxx::transaction_base& w) {
        replace(w);
        DavStore::move_props_in(w, sid, sk, did, dk, false);
        DavStore::remove_locks_in(w, src_lock, false);
      };
      auto o = co_await engine.rename_object(sb, sk, db, dk, true, hook);
      if (!o) co_return co_await respond_error(c, o.error());
    } else {
      storage::CopyOptions opts;
      opts.in_tx = [=](pqxx::transaction_base& w) {
        replace(w);
        DavStore::copy_props_in(w, sid, sk, did, dk, false);
      };
      auto o = co_await engine.copy_object(c.user.id, sb, sk, db, dk, opts);
      if (!o) co_return co_await respond_error(c, o.error());
    }
  }
  co_await engine.blobs().remove_all(std::move(*unlink));
  co_await respond_status(c, existed ? 204 : 201);
}

}  // namespace depot::webdav
