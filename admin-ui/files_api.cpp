// The files API: see files_api.hpp. One function per operation, early returns for each refusal.
// Keys travel in the query (?key=) or the JSON body, never in the path, so any key fits.
#include "admin-ui/files_api.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstdio>
#include <pqxx/pqxx>

#include "admin-ui/api_context.hpp"
#include "admin-ui/console_admin.hpp"
#include "src/crypto/checksum.hpp"
#include "src/crypto/md5_stream.hpp"
#include "src/http/body_source.hpp"
#include "src/http/semantics.hpp"
#include "src/http/send_blob.hpp"
#include "storage/dav_store.hpp"
#include "storage/db.hpp"
#include "storage/engine.hpp"
#include "storage/multipart_store.hpp"
#include "storage/quota.hpp"

namespace depot::console {
namespace {

using storage::Bucket;
using storage::ObjectInfo;

constexpr std::uint64_t kMaxSinglePut = 5ull << 30;  // one PUT; larger files go in parts
constexpr std::uint64_t kMaxPart = 5ull << 30;
constexpr std::size_t kMaxSearch = 256;

// ------------------------------------------------------------------ names

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || i + n >= s.size() || (n == 1 && c < 0xC2) || c > 0xF4) return false;
    for (int k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    auto c1 = static_cast<unsigned char>(n > 0 ? s[i + 1] : 0);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))
      return false;  // overlong forms, surrogates, past U+10FFFF
    i += n + 1;
  }
  return true;
}

// Why a key is refused, or empty when it is fine. Keys the console writes must also be names
// WebDAV can show: no empty, "." or ".." segments, no control characters.
std::string key_problem(std::string_view key, bool folder) {
  if (key.empty() || key == "/") return "the name is empty";
  if (key.size() > storage::Engine::max_key_bytes) return "the path is longer than 1024 bytes";
  if (!valid_utf8(key)) return "the name is not valid UTF-8";
  if (has_control_chars(key)) return "names cannot contain control characters";
  if (key.front() == '/') return "the path must not start with '/'";
  if (folder != (key.back() == '/')) return folder ? "a folder path ends with '/'" : "a file name cannot end with '/'";
  std::string_view rest = folder ? key.substr(0, key.size() - 1) : key;
  std::size_t i = 0;
  while (i <= rest.size()) {
    auto j = rest.find('/', i);
    if (j == std::string_view::npos) j = rest.size();
    auto seg = rest.substr(i, j - i);
    if (seg.empty()) return "a folder name in the path is empty ('//')";
    if (seg == "." || seg == "..") return "'.' and '..' are not valid names";
    i = j + 1;
  }
  return {};
}

std::string human_bytes(std::int64_t n) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(n));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string q(const ApiContext& c, const char* name) {
  auto it = c.query.find(name);
  return it == c.query.end() ? std::string() : it->second;
}

// The file name of a key: its last segment ("a/b/" -> "b").
std::string leaf(std::string_view key) {
  if (!key.empty() && key.back() == '/') key.remove_suffix(1);
  auto slash = key.rfind('/');
  return std::string(slash == std::string_view::npos ? key : key.substr(slash + 1));
}

json::object file_json(const ObjectInfo& o) {
  json::object f{{"type", o.is_directory_marker() ? "folder" : "file"},
                 {"name", leaf(o.key)},
                 {"key", o.key},
                 {"size", o.size},
                 {"modified", iso(o.modified)},
                 {"etag", o.etag}};
  f["content_type"] = o.content_type.empty() ? std::string("application/octet-stream") : o.content_type;
  return f;
}

json::object bucket_json(const Bucket& b) {
  return json::object{{"name", b.name}, {"region", b.region}, {"created", iso(b.created)}};
}

// ------------------------------------------------------------------ answers

asio::awaitable<void> no_bucket(ApiContext& c) {
  co_await c.fail(status::not_found, "no_such_bucket", "there is no such bucket");
}

// The caller's bucket named in the path, or an answer (404 for a missing or someone else's).
asio::awaitable<std::optional<Bucket>> own_bucket(ApiContext& c) {
  auto b = co_await c.app.engine.get_bucket(c.caller->id, c.param(0));
  if (b) co_return std::move(b.value());
  if (b.code() == Errc::no_such_bucket || b.code() == Errc::access_denied) {
    co_await no_bucket(c);
  } else {
    co_await c.fail(b.error());
  }
  co_return std::nullopt;
}

// 403 quota_exceeded with the numbers, so the page can say how much is missing.
asio::awaitable<void> quota_refusal(ApiContext& c, std::int64_t requested) {
  auto u = co_await c.app.quota.usage(c.caller->id);
  json::object err{{"code", "quota_exceeded"}};
  if (u) {
    std::int64_t free = std::max<std::int64_t>(0, u->bytes_limit - u->bytes_used - u->bytes_reserved);
    err["message"] = "not enough space: this needs " + human_bytes(requested) + " but only " + human_bytes(free) +
                     " of your " + human_bytes(u->bytes_limit) + " are free";
    err["bytes_requested"] = requested;
    err["bytes_used"] = u->bytes_used;
    err["bytes_reserved"] = u->bytes_reserved;
    err["bytes_limit"] = u->bytes_limit;
    err["bytes_free"] = free;
    err["objects_used"] = u->objects_used;
    err["objects_limit"] = u->objects_limit ? json::value(*u->objects_limit) : json::value(nullptr);
  } else {
    err["message"] = "not enough space for this upload";
  }
  json::value body = json::object{{"error", std::move(err)}};
  co_await c.reply(status::forbidden, std::move(body));
}

// Engine errors, with the quota refusal carrying its numbers.
asio::awaitable<void> engine_failure(ApiContext& c, const Error& e, std::int64_t requested = 0) {
  if (e.code == Errc::quota_exceeded) co_return co_await quota_refusal(c, requested);
  if (e.code == Errc::no_such_key) co_return co_await c.fail(status::not_found, "not_found", "there is no such file or folder");
  co_await c.fail(e);
}

// WebDAV clients lock what they edit (RFC 4918 locks, storage::DavStore). The console honours
// those locks as a WebDAV client without the lock token would: a change to a locked file, or to a
// folder with something locked inside, is refused with 423. Answers and returns true when locked.
asio::awaitable<bool> refuse_if_locked(ApiContext& c, const Bucket& b, const std::string& key) {
  storage::DavStore dav(c.app.db);
  std::string path = "/" + b.name + "/" + key;
  auto covering = co_await dav.locks_covering(path);
  bool locked = covering && !covering->empty();
  if (!locked && !key.empty() && key.back() == '/') {
    auto below = co_await dav.locks_below(path);
    locked = below && !below->empty();
  }
  if (locked)
    co_await c.fail(status::locked, "locked",
                    "this is locked by a WebDAV client (a file open for editing): close it there, or wait for the lock to expire");
  co_return locked;
}

asio::awaitable<void> bad_name(ApiContext& c, std::string why) {
  co_await c.fail(status::bad_request, "invalid_name", std::move(why));
}

// ------------------------------------------------------------------ buckets

asio::awaitable<void> list_buckets(ApiContext& c) {
  auto bs = co_await c.app.engine.list_buckets(c.caller->id);
  if (!bs) co_return co_await c.fail(bs.error());
  json::array items;
  for (auto& b : *bs) items.push_back(bucket_json(b));
  json::object out{{"items", std::move(items)}, {"next", nullptr}};
  auto u = co_await c.app.quota.usage(c.caller->id);
  if (u) {
    out["usage"] = json::object{{"bytes_used", u->bytes_used},
                                {"bytes_limit", u->bytes_limit},
                                {"objects_used", u->objects_used},
                                {"objects_limit", u->objects_limit ? json::value(*u->objects_limit) : json::value(nullptr)}};
  }
  json::value body = std::move(out);
  co_await c.reply(status::ok, std::move(body));
}

asio::awaitable<void> create_bucket(ApiContext& c) {
  auto name = c.str("name");
  if (!c.problem.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", c.problem);
  if (!name || name->empty()) co_return co_await bad_name(c, "give the bucket a name");
  if (!storage::Engine::valid_bucket_name(*name))
    co_return co_await bad_name(c, "bucket names are 3-63 characters: lower-case letters, digits, '-' and '.', "
                                   "starting and ending with a letter or digit");
  auto b = co_await c.app.engine.create_bucket(c.caller->id, *name, c.app.config.region);
  if (!b) {
    if (b.code() == Errc::bucket_exists)
      co_return co_await c.fail(status::conflict, "bucket_taken", "this bucket name is taken by another account");
    if (b.code() == Errc::bucket_owned_by_you)
      co_return co_await c.fail(status::conflict, "already_exists", "you already have a bucket with this name");
    co_return co_await c.fail(b.error());
  }
  json::value body = bucket_json(*b);
  co_await c.reply(status::created, std::move(body));
}

asio::awaitable<void> delete_bucket(ApiContext& c) {
  bool force = q(c, "force") == "true" || q(c, "force") == "1";
  auto r = co_await c.app.engine.delete_bucket(c.caller->id, c.param(0), force);
  if (!r) {
    if (r.code() == Errc::no_such_bucket || r.code() == Errc::access_denied) co_return co_await no_bucket(c);
    if (r.code() == Errc::bucket_not_empty)
      co_return co_await c.fail(status::conflict, "bucket_not_empty",
                                "the bucket is not empty: delete its files first, or pass force=true");
    co_return co_await c.fail(r.error());
  }
  co_await c.reply(status::no_content, nullptr);
}

// ------------------------------------------------------------------ listing and search

asio::awaitable<void> list_folder(ApiContext& c) {
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  storage::ListQuery lq;
  lq.prefix = q(c, "prefix");
  lq.delimiter = c.query.count("delimiter") ? q(c, "delimiter") : std::string("/");
  lq.start_after = q(c, "after");
  lq.max_keys = c.limit();
  if (lq.prefix.size() > storage::Engine::max_key_bytes || lq.delimiter.size() > 1)
    co_return co_await c.fail(status::bad_request, "invalid_argument", "prefix or delimiter too long");
  auto page = co_await c.app.engine.list(*b, lq);
  if (!page) co_return co_await c.fail(page.error());
  json::array items;
  for (auto& e : page->entries) {
    if (e.is_prefix) {
      std::string name = e.key.substr(lq.prefix.size());
      if (!name.empty()) name.pop_back();  // the delimiter
      items.push_back(json::object{{"type", "folder"}, {"name", name}, {"key", e.key}});
    } else if (e.key != lq.prefix) {  // the folder's own marker is the folder, not a member
      auto f = file_json(e.object);
      f["name"] = e.key.substr(lq.prefix.size());
      if (e.object.is_directory_marker()) {
        auto n = f["name"].as_string();
        if (!n.empty()) n.pop_back();
        f["name"] = n;
      }
      items.push_back(std::move(f));
    }
  }
  json::object out{{"bucket", b->name}, {"prefix", lq.prefix}, {"items", std::move(items)}};
  out["next"] = page->truncated ? json::value(page->next_marker) : json::value(nullptr);
  json::value body = std::move(out);
  co_await c.reply(status::ok, std::move(body));
}

asio::awaitable<void> search(ApiContext& c) {
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  auto needle = q(c, "q");
  if (needle.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", "give a name to search for (?q=)");
  if (needle.size() > kMaxSearch) co_return co_await c.fail(status::bad_request, "invalid_argument", "the search is too long");
  auto prefix = q(c, "prefix");
  auto after = q(c, "after");
  auto page = co_await c.app.engine.search(*b, prefix, needle, after, c.limit());
  if (!page) co_return co_await c.fail(page.error());
  json::array items;
  for (auto& e : page->entries) items.push_back(file_json(e.object));
  json::object out{{"bucket", b->name}, {"prefix", prefix}, {"q", needle}, {"items", std::move(items)}};
  out["next"] = page->truncated ? json::value(page->next_marker) : json::value(nullptr);
  json::value body = std::move(out);
  co_await c.reply(status::ok, std::move(body));
}

// ------------------------------------------------------------------ download

// RFC 6266: an ASCII fallback and the exact name as RFC 8187 UTF-8.
std::string content_disposition(const std::string& name) {
  std::string ascii;
  for (char ch : name) {
    auto u = static_cast<unsigned char>(ch);
    ascii += (u < 0x20 || u >= 0x7f || ch == '"' || ch == '\\' || ch == '%' || ch == ';') ? '_' : ch;
  }
  if (ascii.empty()) ascii = "download";
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + http::percent_encode(name, false);
}

// retried: the file was looked up again after its blob went between lookup and open (a write
// replaced it and committed in between); the S3 and WebDAV GETs do the same.
static asio::awaitable<void> download_file(ApiContext& c, bool retried) {
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  auto key = q(c, "key");
  if (key.empty()) co_return co_await bad_name(c, "which file? (?key=)");
  auto found = co_await c.app.engine.head_object(*b, key);
  if (!found) co_return co_await engine_failure(c, found.error());
  const ObjectInfo& o = *found;
  auto& ex = c.ex;
  bool head = ex.request().method() == http::bhttp::verb::head;

  auto pre = http::evaluate_preconditions(ex.request(), o.etag, o.modified, true);
  if (pre == http::Precondition::not_modified) {
    auto res = http::make_response(ex, status::not_modified);
    res.set(http::bhttp::field::etag, "\"" + o.etag + "\"");
    co_return co_await ex.respond(std::move(res));
  }
  if (pre == http::Precondition::precondition_failed)
    co_return co_await c.fail(status::precondition_failed, "precondition_failed", "the file changed");

  auto size = static_cast<std::uint64_t>(o.size);
  std::uint64_t first = 0, length = size;
  bool partial = false;
  if (auto range = ex.header(http::bhttp::field::range); !range.empty()) {
    auto rr = http::resolve_range(range, size);
    if (rr.outcome == http::RangeOutcome::unsatisfiable) {
      auto res = http::make_response(ex, status::range_not_satisfiable, error_body(api_error(status::range_not_satisfiable, "range_not_satisfiable", "the range is outside the file")), "application/json");
      res.set(http::bhttp::field::content_range, "bytes */" + std::to_string(size));
      co_return co_await ex.respond(std::move(res));
    }
    if (rr.outcome == http::RangeOutcome::satisfiable) {
      first = rr.range.first;
      length = rr.range.length;
      partial = true;
    }
  }

  http::ResponseHeader h;
  h.result(partial ? status::partial_content : status::ok);
  h.version(ex.request().version());
  h.set(http::bhttp::field::content_type, o.content_type.empty() ? std::string("application/octet-stream") : o.content_type);
  h.set(http::bhttp::field::content_disposition, content_disposition(leaf(o.key)));
  h.set(http::bhttp::field::etag, "\"" + o.etag + "\"");
  h.set(http::bhttp::field::last_modified, http::format_http_date(o.modified));
  h.set(http::bhttp::field::accept_ranges, "bytes");
  h.set(http::bhttp::field::cache_control, "private, no-cache");
  h.set("X-Content-Type-Options", "nosniff");
  // Never rendered as a page of the console's origin, whatever its type.
  h.set("Content-Security-Policy", "default-src 'none'; sandbox");
  if (partial)
    h.set(http::bhttp::field::content_range,
          "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) + "/" + std::to_string(size));
  if (head) {
    http::StringResponse res{std::move(h)};
    res.content_length(length);
    co_return co_await ex.respond(std::move(res));
  }
  auto reader = co_await c.app.engine.open_object(o, first, length);
  if (!reader && reader.code() == Errc::not_found && !retried) co_return co_await download_file(c, true);
  if (!reader) co_return co_await c.fail(reader.error());
  co_await ex.begin_response(std::move(h), length);
  co_await http::send_blob_body(ex, **reader, length, "object " + o.key);
}

asio::awaitable<void> download(ApiContext& c) { co_return co_await download_file(c, false); }

// ------------------------------------------------------------------ uploads

using RequestBodySource = http::ExchangeBodySource;
using EmptySource = http::EmptyBodySource;

std::string request_content_type(ApiContext& c) {
  std::string t(c.ex.header(http::bhttp::field::content_type));
  if (t.size() > 255) return {};
  for (char ch : t)
    if (static_cast<unsigned char>(ch) < 0x20) return {};
  return t;
}

asio::awaitable<void> upload(ApiContext& c) {
  auto key = q(c, "key");
  if (auto why = key_problem(key, false); !why.empty()) co_return co_await bad_name(c, why);
  auto len = c.ex.content_length();
  if (!len) co_return co_await c.fail(status::length_required, "length_required", "send the file with a Content-Length");
  if (*len > kMaxSinglePut)
    co_return co_await c.fail(status::payload_too_large, "too_large", "files over 5 GiB are uploaded in parts");
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  bool locked = co_await refuse_if_locked(c, *b, key);
  if (locked) co_return;
  storage::PutOptions opts;
  opts.content_type = request_content_type(c);
  opts.declared_size = *len;
  if (q(c, "overwrite") == "false") opts.conditions.if_none_match_any = true;
  // Quota and conditions before a byte of the body is read (100-continue comes with the read).
  auto ticket = co_await c.app.engine.begin_put(c.caller->id, *b, key, std::move(opts));
  if (!ticket) {
    if (ticket.code() == Errc::precondition_failed)
      co_return co_await c.fail(status::conflict, "already_exists", "a file with this name exists");
    co_return co_await engine_failure(c, ticket.error(), static_cast<std::int64_t>(*len));
  }
  RequestBodySource src(c.ex);
  auto done = co_await c.app.engine.finish_put(std::move(ticket.value()), src);
  if (!done) {
    if (done.code() == Errc::precondition_failed)
      co_return co_await c.fail(status::conflict, "already_exists", "a file with this name exists");
    co_return co_await engine_failure(c, done.error(), static_cast<std::int64_t>(*len));
  }
  json::value body = file_json(*done);
  co_await c.reply(status::created, std::move(body));
}

asio::awaitable<void> new_folder(ApiContext& c) {
  auto key = c.str("key");
  if (!c.problem.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", c.problem);
  if (!key) co_return co_await bad_name(c, "give the folder a name");
  if (!key->empty() && key->back() != '/') *key += '/';
  if (auto why = key_problem(*key, true); !why.empty()) co_return co_await bad_name(c, why);
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  bool locked = co_await refuse_if_locked(c, *b, *key);
  if (locked) co_return;
  auto exists = co_await c.app.engine.prefix_exists(*b, *key);
  if (!exists) co_return co_await c.fail(exists.error());
  if (*exists) co_return co_await c.fail(status::conflict, "already_exists", "a folder with this name exists");
  storage::PutOptions opts;
  opts.declared_size = 0;
  opts.conditions.if_none_match_any = true;
  auto ticket = co_await c.app.engine.begin_put(c.caller->id, *b, *key, std::move(opts));
  if (!ticket) co_return co_await engine_failure(c, ticket.error());
  EmptySource empty;
  auto done = co_await c.app.engine.finish_put(std::move(ticket.value()), empty);
  if (!done) {
    if (done.code() == Errc::precondition_failed)
      co_return co_await c.fail(status::conflict, "already_exists", "a folder with this name exists");
    co_return co_await engine_failure(c, done.error());
  }
  json::value body = file_json(*done);
  co_await c.reply(status::created, std::move(body));
}

asio::awaitable<void> delete_entry(ApiContext& c) {
  auto key = q(c, "key");
  if (key.empty()) co_return co_await bad_name(c, "which file or folder? (?key=)");
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  bool locked = co_await refuse_if_locked(c, *b, key);
  if (locked) co_return;
  // WebDAV dead properties go in the same transaction.
  bool folder = key.back() == '/';
  storage::TxHook props = [id = b->id, key, folder](pqxx::transaction_base& w) {
    storage::DavStore::delete_props_in(w, id, key, folder);
  };
  if (folder) {
    auto n = co_await c.app.engine.delete_prefix(*b, key, props);
    if (!n) co_return co_await c.fail(n.error());
    if (*n == 0) co_return co_await c.fail(status::not_found, "not_found", "there is no such folder");
    json::value body = json::object{{"deleted", *n}};
    co_return co_await c.reply(status::ok, std::move(body));
  }
  storage::WriteConditions unconditional;
  auto r = co_await c.app.engine.delete_object(*b, key, unconditional, props);
  if (!r) co_return co_await engine_failure(c, r.error());
  if (!r->existed) co_return co_await c.fail(status::not_found, "not_found", "there is no such file");
  json::value body = json::object{{"deleted", 1}};
  co_await c.reply(status::ok, std::move(body));
}

// ------------------------------------------------------------------ move and copy

// {key, to, bucket?, overwrite?}: a file, or a folder (key and to end with '/') with all it holds.
asio::awaitable<void> move_or_copy(ApiContext& c, bool move) {
  auto key = c.str("key");
  auto to = c.str("to");
  auto to_bucket = c.str("bucket");
  auto overwrite = c.boolean("overwrite");
  if (!c.problem.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", c.problem);
  if (!key || !to) co_return co_await c.fail(status::bad_request, "invalid_argument", "give 'key' and 'to'");
  bool folder = !key->empty() && key->back() == '/';
  if (folder && !to->empty() && to->back() != '/') *to += '/';
  if (auto why = key_problem(*key, folder); !why.empty()) co_return co_await bad_name(c, why);
  if (auto why = key_problem(*to, folder); !why.empty()) co_return co_await bad_name(c, why);
  auto src = co_await own_bucket(c);
  if (!src) co_return;
  Bucket dst = *src;
  if (to_bucket && *to_bucket != src->name) {
    auto d = co_await c.app.engine.get_bucket(c.caller->id, *to_bucket);
    if (!d) {
      if (d.code() == Errc::no_such_bucket || d.code() == Errc::access_denied) co_return co_await no_bucket(c);
      co_return co_await c.fail(d.error());
    }
    dst = std::move(d.value());
  }
  bool ow = overwrite.value_or(false);
  auto& engine = c.app.engine;
  if (move) {
    bool src_locked = co_await refuse_if_locked(c, *src, *key);
    if (src_locked) co_return;
  }
  bool dst_locked = co_await refuse_if_locked(c, dst, *to);
  if (dst_locked) co_return;
  // WebDAV dead properties follow the keys in the same transaction, as a WebDAV MOVE or COPY
  // carries them.
  storage::TxHook props = [move, s = src->id, k = *key, d = dst.id, t = *to, folder](pqxx::transaction_base& w) {
    if (move) storage::DavStore::move_props_in(w, s, k, d, t, folder);
    else storage::DavStore::copy_props_in(w, s, k, d, t, folder);
  };
  if (dst.id == src->id && *key == *to) co_return co_await c.fail(status::bad_request, "invalid_argument", "the source and destination are the same");
  if (folder) {
    if (dst.id == src->id && to->starts_with(*key))
      co_return co_await c.fail(status::bad_request, "invalid_argument", "a folder cannot go inside itself");
    auto there = co_await engine.prefix_exists(*src, *key);
    if (!there) co_return co_await c.fail(there.error());
    if (!*there) co_return co_await c.fail(status::not_found, "not_found", "there is no such folder");
    if (!ow) {
      auto taken = co_await engine.prefix_exists(dst, *to);
      if (!taken) co_return co_await c.fail(taken.error());
      if (*taken) co_return co_await c.fail(status::conflict, "already_exists", "the destination exists");
    }
    Result<std::int64_t> n = make_error(Errc::internal, "not run");
    if (move) n = co_await engine.rename_prefix(*src, *key, dst, *to, ow, props);
    else n = co_await engine.copy_prefix(c.caller->id, *src, *key, dst, *to, ow, props);
    if (!n) co_return co_await engine_failure(c, n.error());
    json::value body = json::object{{"key", *to}, {"bucket", dst.name}, {"count", *n}};
    co_return co_await c.reply(status::ok, std::move(body));
  }
  Result<ObjectInfo> o = make_error(Errc::internal, "not run");
  if (move) {
    o = co_await engine.rename_object(*src, *key, dst, *to, ow, props);
  } else {
    auto head = co_await engine.head_object(*src, *key);
    if (!head) co_return co_await engine_failure(c, head.error());
    storage::CopyOptions opts;
    opts.dest_conditions.if_none_match_any = !ow;
    opts.source_etag = head->etag;
    opts.in_tx = props;
    o = co_await engine.copy_object(c.caller->id, *src, *key, dst, *to, std::move(opts));
  }
  if (!o) {
    if (o.code() == Errc::already_exists || o.code() == Errc::precondition_failed || o.code() == Errc::conflict)
      co_return co_await c.fail(status::conflict, "already_exists", "the destination exists");
    co_return co_await engine_failure(c, o.error());
  }
  json::value body = file_json(*o);
  body.as_object()["bucket"] = dst.name;
  co_await c.reply(status::ok, std::move(body));
}

// ------------------------------------------------------------------ uploads in parts

// "Code: message" refusals of the multipart store become snake_case codes.
ApiError store_error(const Error& e) {
  if (e.code == Errc::invalid_argument) {
    auto colon = e.message.find(": ");
    if (colon != std::string::npos) {
      std::string code;
      for (char ch : e.message.substr(0, colon)) {
        if (std::isupper(static_cast<unsigned char>(ch))) {
          if (!code.empty()) code += '_';
          code += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        } else {
          code += ch;
        }
      }
      return api_error(status::bad_request, code, e.message.substr(colon + 2));
    }
  }
  if (e.code == Errc::not_found) return api_error(status::not_found, "no_such_upload", "there is no such upload");
  return api_error(e);
}

asio::awaitable<std::optional<storage::UploadInfo>> find_upload(ApiContext& c, storage::MultipartStore& mp, const Bucket& b) {
  auto u = co_await mp.get(b.id, q(c, "key"), c.param(1));
  if (!u) {
    co_await c.fail(status::not_found, "no_such_upload", "there is no such upload (it was completed, aborted or expired)");
    co_return std::nullopt;
  }
  co_return std::move(u.value());
}

asio::awaitable<void> upload_create(ApiContext& c) {
  auto key = c.str("key");
  auto type = c.str("content_type");
  auto size = c.integer("size");
  if (!c.problem.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", c.problem);
  if (!key) co_return co_await bad_name(c, "give the file a name ('key')");
  if (auto why = key_problem(*key, false); !why.empty()) co_return co_await bad_name(c, why);
  if (size && (*size < 0 || *size > static_cast<std::int64_t>(5ull << 40)))
    co_return co_await c.fail(status::bad_request, "invalid_argument", "'size' must be 0..5 TiB");
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  // A file that cannot fit is refused now, not after gigabytes of parts (the parts reserve as they come).
  if (size) {
    auto u = co_await c.app.quota.usage(c.caller->id);
    if (u && u->bytes_used + u->bytes_reserved + *size > u->bytes_limit) co_return co_await quota_refusal(c, *size);
  }
  storage::UploadInfo info;
  info.bucket = b->id;
  info.key = *key;
  info.user = b->owner;
  info.content_type = type ? *type : std::string();
  if (info.content_type.size() > 255) info.content_type.clear();
  storage::MultipartStore mp(c.app.db, c.app.blobs, c.app.quota);
  auto made = co_await mp.create(std::move(info));
  if (!made) co_return co_await c.fail(store_error(made.error()));
  json::value body = json::object{{"upload_id", made->id},
                                  {"key", made->key},
                                  {"bucket", b->name},
                                  {"min_part_size", storage::MultipartStore::kMinPartSize},
                                  {"max_parts", storage::MultipartStore::kMaxParts}};
  co_await c.reply(status::created, std::move(body));
}

asio::awaitable<void> upload_part(ApiContext& c) {
  int number = 0;
  const auto& ns = c.param(2);
  auto pr = std::from_chars(ns.data(), ns.data() + ns.size(), number);
  if (pr.ec != std::errc{} || pr.ptr != ns.data() + ns.size() || number < 1 || number > storage::MultipartStore::kMaxParts)
    co_return co_await c.fail(status::bad_request, "invalid_argument", "part numbers are 1..10000");
  auto len = c.ex.content_length();
  if (!len) co_return co_await c.fail(status::length_required, "length_required", "send the part with a Content-Length");
  if (*len > kMaxPart) co_return co_await c.fail(status::payload_too_large, "too_large", "a part is at most 5 GiB");
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  storage::MultipartStore mp(c.app.db, c.app.blobs, c.app.quota);
  auto u = co_await find_upload(c, mp, *b);
  if (!u) co_return;
  auto size = static_cast<std::int64_t>(*len);
  auto reservation = co_await c.app.quota.reserve(b->owner, size);
  if (!reservation) co_return co_await engine_failure(c, reservation.error(), size);

  // Stream the body into the part's blob, hashing MD5 for its ETag.
  auto writer = c.app.blobs.create();
  std::vector<char> buf(256 * 1024);
  crypto::Md5Stream md5;  // after buf: may still read it while being destroyed
  std::uint64_t total = 0;
  std::optional<Error> write_failed;
  http::ExchangeBodySource source(c.ex);
  for (;;) {
    std::size_t n = co_await source.read_full(buf.data(), buf.size());  // whole buffers: large pieces to hash and write
    if (n == 0) break;
    total += n;
    md5.submit(buf.data(), n);  // hashed while the bytes go to the disk
    // The outcome as a value: a BodyError (disk full) ends the upload with its error.
    auto ex = co_await asio::this_coro::executor;
    auto [failure] = co_await asio::co_spawn(ex, writer->write(buf.data(), n), asio::as_tuple(asio::use_awaitable));
    co_await md5.wait();
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const BodyError& e) {
        write_failed = e.error;
      }
    }
    if (write_failed) break;
  }
  if (write_failed) co_return co_await c.fail(*write_failed);
  if (total != *len) co_return co_await c.fail(status::bad_request, "invalid_argument", "the part is shorter than its Content-Length");
  auto fin = co_await writer->finish();
  if (!fin) co_return co_await c.fail(fin.error());
  storage::PartInfo part;
  part.number = number;
  part.blob_id = writer->id();
  part.size = size;
  part.etag = crypto::to_hex(md5.finish());
  auto stored = co_await mp.add_part(*u, std::move(part), std::move(reservation.value()));
  if (!stored) co_return co_await c.fail(store_error(stored.error()));
  json::value body = json::object{{"number", stored->number}, {"etag", stored->etag}, {"size", stored->size}};
  co_await c.reply(status::ok, std::move(body));
}

asio::awaitable<void> upload_complete(ApiContext& c) {
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  storage::MultipartStore mp(c.app.db, c.app.blobs, c.app.quota);
  auto u = co_await find_upload(c, mp, *b);
  if (!u) co_return;
  bool locked = co_await refuse_if_locked(c, *b, u->key);
  if (locked) co_return;
  std::vector<storage::CompletePart> parts;
  if (auto* given = c.body.if_contains("parts")) {
    // The parts the page uploaded, with the ETags it got back: a part replaced meanwhile is refused.
    if (!given->is_array() || given->as_array().empty() ||
        given->as_array().size() > static_cast<std::size_t>(storage::MultipartStore::kMaxParts))
      co_return co_await c.fail(status::bad_request, "invalid_argument", "'parts' must be a list of {number, etag}");
    for (auto& p : given->as_array()) {
      auto* o = p.if_object();
      auto* num = o ? o->if_contains("number") : nullptr;
      auto* etag = o ? o->if_contains("etag") : nullptr;
      if (!num || !num->is_int64() || !etag || !etag->is_string())
        co_return co_await c.fail(status::bad_request, "invalid_argument", "'parts' must be a list of {number, etag}");
      if (num->as_int64() < 1 || num->as_int64() > storage::MultipartStore::kMaxParts)
        co_return co_await c.fail(status::bad_request, "invalid_argument", "part numbers are 1..10000");
      parts.push_back({static_cast<int>(num->as_int64()), std::string(http::unquote_etag(etag->as_string()))});
    }
  } else {
    // Every uploaded part, in order.
    int marker = 0;
    for (;;) {
      auto page = co_await mp.list_parts(u->id, marker, 1000);
      if (!page) co_return co_await c.fail(store_error(page.error()));
      bool more = page->size() > 1000;
      if (more) page->resize(1000);
      for (auto& p : *page) parts.push_back({p.number, p.etag, p.checksum});
      if (!more || page->empty()) break;
      marker = page->back().number;
    }
    if (parts.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", "no part was uploaded");
  }
  // Named arguments, never braced temporaries, inside co_await (GCC 12 mis-destroys those).
  storage::WriteConditions unconditional;
  storage::CompleteChecks unchecked;
  auto done = co_await mp.complete(*b, *u, std::move(parts), unconditional, unchecked);
  if (!done) {
    if (done.code() == Errc::quota_exceeded) co_return co_await quota_refusal(c, 0);
    co_return co_await c.fail(store_error(done.error()));
  }
  json::value body = file_json(*done);
  co_await c.reply(status::created, std::move(body));
}

asio::awaitable<void> upload_abort(ApiContext& c) {
  auto b = co_await own_bucket(c);
  if (!b) co_return;
  storage::MultipartStore mp(c.app.db, c.app.blobs, c.app.quota);
  auto u = co_await find_upload(c, mp, *b);
  if (!u) co_return;
  auto r = co_await mp.abort(*b, *u);
  if (!r) co_return co_await c.fail(store_error(r.error()));
  co_await c.reply(status::no_content, nullptr);
}

}  // namespace

bool files_raw_body(Op op) { return op == Op::files_upload || op == Op::files_upload_part; }

asio::awaitable<void> files_op(ApiContext& c) {
  // Storage is for active accounts, as over S3 and WebDAV (a pending one has not verified its
  // email address yet).
  if (c.caller && c.caller->status != "active")
    co_return co_await c.fail(status::forbidden, "forbidden", "the account is not active (is its email address verified?)");
  // Administrators may look at (never change) another account's files: `?user=NAME` on the
  // read-only operations acts on that account (the console's user detail page uses it).
  if (auto as = c.query.find("user"); as != c.query.end() && !(c.caller && as->second == c.caller->name)) {
    bool read_only = c.endpoint.op == Op::files_buckets || c.endpoint.op == Op::files_list ||
                     c.endpoint.op == Op::files_search || c.endpoint.op == Op::files_download;
    if (!c.is_admin())
      co_return co_await c.fail(status::forbidden, "forbidden", "only administrators may look at another account's files");
    if (!read_only)
      co_return co_await c.fail(status::forbidden, "forbidden", "administrators may look at another account's files, not change them");
    std::string name = as->second;
    auto target = co_await c.app.users.find_by_name(name);
    if (!target) co_return co_await c.fail(status::not_found, "not_found", "no such user");
    // Looking into an account is in the audit log, as every change an admin makes is.
    json::object details{{"user", name}};
    for (const char* q : {"prefix", "key", "q"})
      if (auto it = c.query.find(q); it != c.query.end()) details[q] = it->second;
    auto entry = audit_entry(c, std::move(details));
    entry.target = name + (entry.target.empty() ? "" : "/" + entry.target);
    co_await c.app.db.tx([&](pqxx::work& w) { storage::ConsoleStore::audit(w, entry); });
    c.caller = std::move(target.value());
  }
  switch (c.endpoint.op) {
    case Op::files_buckets: co_return co_await list_buckets(c);
    case Op::files_bucket_create: co_return co_await create_bucket(c);
    case Op::files_bucket_delete: co_return co_await delete_bucket(c);
    case Op::files_list: co_return co_await list_folder(c);
    case Op::files_search: co_return co_await search(c);
    case Op::files_download: co_return co_await download(c);
    case Op::files_upload: co_return co_await upload(c);
    case Op::files_delete: co_return co_await delete_entry(c);
    case Op::files_mkdir: co_return co_await new_folder(c);
    case Op::files_move: co_return co_await move_or_copy(c, true);
    case Op::files_copy: co_return co_await move_or_copy(c, false);
    case Op::files_upload_create: co_return co_await upload_create(c);
    case Op::files_upload_part: co_return co_await upload_part(c);
    case Op::files_upload_complete: co_return co_await upload_complete(c);
    case Op::files_upload_abort: co_return co_await upload_abort(c);
    default: co_return co_await c.fail(status::not_found, "not_found", "no such files operation");
  }
}

}  // namespace depot::console
