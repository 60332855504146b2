// HTTP semantics shared by S3, WebDAV and the console: dates, Range, conditional requests,
// percent-encoding. One implementation for every protocol.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "src/utf8.hpp"
#include "src/http/exchange.hpp"
#include "storage/types.hpp"

namespace depot::http {

// RFC 1123 / IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(storage::TimePoint t);
// Accepts IMF-fixdate, RFC 850 and asctime forms (RFC 9110 5.6.7); nullopt if none matches.
std::optional<storage::TimePoint> parse_http_date(std::string_view s);
// ISO 8601 with milliseconds, as S3 lists: "2009-10-12T17:50:30.000Z".
std::string format_iso8601(storage::TimePoint t);
// Parses "2009-10-12T17:50:30Z", with optional fraction, 'Z' or +hh:mm.
std::optional<storage::TimePoint> parse_iso8601(std::string_view s);

// A byte range resolved against a representation of a known size.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;  // last = first + length - 1
};
enum class RangeOutcome { none, satisfiable, unsatisfiable, ignored };
struct RangeResult {
  RangeOutcome outcome = RangeOutcome::none;
  ByteRange range;
};
// Parses a Range header value ("bytes=0-9", "bytes=5-", "bytes=-3") for a resource of size.
// A single range only; a syntactically invalid header or several ranges -> ignored (serve the
// whole representation, as RFC 9110 allows); a range past the end -> unsatisfiable (416).
RangeResult resolve_range(std::string_view header, std::uint64_t size);

// Evaluates If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since in the order of
// RFC 9110 13.2.2 for a resource that exists with etag (no quotes) and last-modified.
// For GET/HEAD a failed If-None-Match / If-Modified-Since gives not_modified (304);
// otherwise a failed condition gives precondition_failed (412).
enum class Precondition { pass, not_modified, precondition_failed };
Precondition evaluate_preconditions(const RequestHeader& req, std::string_view etag, storage::TimePoint modified,
                                    bool is_get_or_head);

// Percent-decoding of a path ('+' stays '+'); nullopt on a bad escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view s);
using depot::valid_utf8;  // src/utf8.hpp
// Percent-encoding of everything except unreserved characters (A-Z a-z 0-9 - _ . ~) and,
// when keep_slash, '/'.
std::string percent_encode(std::string_view s, bool keep_slash);

// Strips one level of quotes and a W/ prefix from an entity tag.
std::string_view unquote_etag(std::string_view tag);

// Headers for a user's stored bytes served on the server's own origin (S3 and WebDAV GET): the
// uploader chose the Content-Type, so an HTML or SVG object opened in a browser would otherwise
// run script as the console (its session cookie, its CSRF token). Sandboxed, it runs in an
// origin of its own; nosniff keeps a browser from guessing a script type.
inline void set_stored_content_guard(ResponseHeader& h) {
  h.set("Content-Security-Policy", "sandbox");
  h.set("X-Content-Type-Options", "nosniff");
}

}  // namespace depot::http
