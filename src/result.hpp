// Result<T>: a value or an Error, the way every layer reports an expected failure.
// Exceptions are kept for the unexpected (broken connection, I/O failure, bug).
#pragma once
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace depot {

// What went wrong, in engine terms. Each protocol maps these to its own codes in one place
// (protocols/s3/error.cpp, protocols/webdav/error.cpp, admin-ui/api_error.cpp).
enum class Errc {
  ok = 0,
  invalid_argument,      // malformed input the caller should not have sent
  invalid_name,          // bucket or key name refused by the naming rules
  not_found,             // generic: user, key id, plan, lock...
  no_such_bucket,
  no_such_key,
  bucket_exists,         // name taken by another user
  bucket_owned_by_you,   // name already taken by the caller
  bucket_not_empty,
  already_exists,        // generic conflict (user name, plan name, destination exists)
  conflict,              // parent missing, file/prefix clash, ...
  precondition_failed,   // If-Match / If-None-Match on a write
  quota_exceeded,        // plan limit (bytes or objects) would be passed
  too_large,             // a size limit of the server (object, key, header...)
  bad_digest,            // content did not match a digest the client sent
  access_denied,         // authenticated but not allowed
  unauthenticated,       // no or wrong credentials
  locked,                // a WebDAV lock held by someone else
  storage_full,          // the blob store has no room (ENOSPC)
  unavailable,           // database or blob store unreachable
  internal,
};

const char* errc_name(Errc c);

struct Error {
  Errc code = Errc::internal;
  std::string message;
};

inline Error make_error(Errc c, std::string msg) { return Error{c, std::move(msg)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  // Default-constructible only because asio's co_spawn needs it; never observed as a value.
  Result() : v_(Error{Errc::internal, "no result"}) {}
  Result(T v) : v_(std::move(v)) {}
  Result(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { assert(ok()); return std::get<0>(v_); }
  const T& value() const { assert(ok()); return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }
  Errc code() const { return ok() ? Errc::ok : error().code; }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : e_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return e_; }
  Errc code() const { return ok_ ? Errc::ok : e_.code; }

 private:
  Error e_;
  bool ok_ = true;
};

// Thrown from a body source when the bytes it yields turn out to be wrong or cut short
// (bad chunk signature, checksum mismatch, client gone). The engine discards the upload.
struct BodyError : std::exception {
  Error error;
  explicit BodyError(Error e) : error(std::move(e)) {}
  const char* what() const noexcept override { return error.message.c_str(); }
};

}  // namespace depot
