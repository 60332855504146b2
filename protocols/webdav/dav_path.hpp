// The WebDAV namespace: how a URL under /dav maps to the user's buckets and keys.
//
//   /dav/                 the user's root: one collection per bucket
//   /dav/<bucket>/        a bucket
//   /dav/<bucket>/<key>   an object, or the collection of keys under "<key>/" (a marker key
//                         "<key>/" or keys implying it)
//
// The rule for keys WebDAV cannot show: a URL with an empty segment ("a//b"), a "." or ".."
// segment is refused with 400, and listings skip keys that have such segments. A key that is
// both a file and a prefix ("a" and "a/b") shows as two members: the file at ".../a" and the
// collection at ".../a/"; a URL without the trailing slash names the file.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "src/result.hpp"

namespace depot::webdav {

struct DavPath {
  enum class Kind { root, bucket, member };
  Kind kind = Kind::root;
  std::string bucket;           // decoded
  std::string key;              // decoded, without a trailing '/'; empty unless member
  bool trailing_slash = false;  // the URL ended in '/'

  // The key of the collection marker / prefix of the collection at this path: "key/", or ""
  // for a bucket.
  std::string collection_prefix() const { return kind == Kind::member ? key + "/" : std::string(); }
  // The parent collection's prefix within the bucket ("" for a top-level member).
  std::string parent_prefix() const;
  // The last segment, decoded (bucket name for a bucket, "" for the root).
  std::string name() const;
  // Path below /dav used for locks: "/", "/b/", "/b/key" (+ "/" when collection).
  std::string lock_path(bool collection) const;
  // Percent-encoded URL path: "/dav/b/key" (+ "/" when collection).
  std::string href(bool collection) const;
};

// Maps a request path (percent-encoded, starting with /dav, query and fragment removed).
// invalid_argument for a path outside /dav, a bad escape, an empty, "." or ".." segment;
// too_large for a key over the engine's limit.
Result<DavPath> parse_dav_path(std::string_view encoded);

// True when a key can be shown as a WebDAV resource (no empty, "." or ".." segment, except
// the one trailing '/' of a collection marker).
bool key_is_showable(std::string_view key);

}  // namespace depot::webdav
