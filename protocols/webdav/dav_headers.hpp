// The WebDAV request headers other than If (RFC 4918 section 10): Depth, Destination,
// Overwrite, Timeout and Lock-Token. Pure parsing: no I/O, no engine.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace depot::webdav {

enum class Depth { zero, one, infinity };

// "0", "1", "infinity" (case-insensitive). An absent header (empty value) gives dflt; anything
// else is nullopt, which the caller answers with 400.
std::optional<Depth> parse_depth(std::string_view value, Depth dflt);

// "T" or "F"; absent means T (RFC 4918 10.6). nullopt when malformed (400).
std::optional<bool> parse_overwrite(std::string_view value);

// Timeout: a comma-separated list of "Second-N" / "Infinite"; the first understood entry wins.
// Infinite and values above max are capped to max; absent or unparsable gives dflt.
std::chrono::seconds parse_timeout(std::string_view value, std::chrono::seconds dflt, std::chrono::seconds max);

// A Destination header split into what the handler compares and maps.
struct Destination {
  std::string authority;  // "host[:port]" when the URI was absolute, else empty
  std::string path;       // still percent-encoded, without query or fragment
};
// Accepts an absolute URI (http/https) or an absolute path; nullopt otherwise (400).
std::optional<Destination> parse_destination(std::string_view value);

// Lock-Token: "<opaquelocktoken:...>"; Windows sends the token without the angle brackets.
// Returns the token without brackets, nullopt when empty or unbalanced.
std::optional<std::string> parse_lock_token_header(std::string_view value);

// Strips a trailing "#fragment" from a request path (a fragment never names a different
// resource; some clients send it encoded as part of the path).
std::string_view strip_fragment(std::string_view path);

}  // namespace depot::webdav
