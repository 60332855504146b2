// The WebDAV If header (RFC 4918 section 10.4): parser and evaluator.
//
// The evaluator is pure: the handler first asks resources() which resources the header names,
// fetches their state (existence, ETag, the lock tokens that cover them) from the engine and the
// lock store, then calls evaluate(). Lock enforcement is separate: a lock held on a resource the
// request changes is satisfied when its token is among submitted_tokens().
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/result.hpp"

namespace depot::webdav {

struct IfCondition {
  enum class Kind { state_token, etag };
  bool negated = false;
  Kind kind = Kind::state_token;
  std::string value;  // the token URI without <>, or the entity tag as written inside [] (quotes kept)
};

struct IfList {
  std::optional<std::string> resource;  // Resource-Tag without <> (absolute URI or path); none: request URI
  std::vector<IfCondition> conditions;
};

struct IfHeader {
  bool tagged = false;
  std::vector<IfList> lists;

  // Distinct tagged resources, in order of appearance (empty for an untagged header).
  std::vector<std::string> resources() const;
  // Every state token named in a non-negated condition (the tokens the client "submits").
  std::vector<std::string> submitted_tokens() const;
};

// invalid_argument with a short reason when the header does not follow the grammar.
Result<IfHeader> parse_if_header(std::string_view value);

// What the evaluator needs to know about one resource.
struct ResourceState {
  bool exists = false;
  std::string etag;                      // without quotes; empty when none
  std::vector<std::string> lock_tokens;  // tokens of every lock covering the resource (direct or inherited)
};

// True when at least one list holds: each list is evaluated against its tagged resource, or the
// request URI when untagged. state_of receives the resource tag exactly as written in the header
// (or an empty string for the request URI) and must not fail: an unknown resource is !exists.
bool evaluate_if_header(const IfHeader& h, const std::function<ResourceState(const std::string& tag)>& state_of);

// Compares two entity tags strongly after stripping quotes and a W/ prefix from both.
bool etags_match(std::string_view a, std::string_view b);

}  // namespace depot::webdav
