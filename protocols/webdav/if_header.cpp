#include "protocols/webdav/if_header.hpp"

#include <algorithm>

namespace depot::webdav {

namespace {

class IfParser {
 public:
  explicit IfParser(std::string_view s) : s_(s) {}

  Result<IfHeader> parse() {
    IfHeader h;
    skip_ws();
    if (at_end()) return fail("empty If header");
    h.tagged = peek() == '<';
    while (true) {
      skip_ws();
      if (at_end()) break;
      IfList list;
      if (peek() == '<') {
        if (!h.tagged) return fail("resource tag in an untagged If header");
        auto tag = coded_url();
        if (!tag) return fail("bad resource tag");
        tagged_resource_ = std::move(*tag);
        skip_ws();
        if (at_end() || peek() != '(') return fail("resource tag without a list");
      } else if (peek() != '(') {
        return fail("expected '(' or '<'");
      }
      if (h.tagged) list.resource = tagged_resource_;
      auto err = parse_list(list);
      if (!err.empty()) return fail(err);
      h.lists.push_back(std::move(list));
    }
    if (h.lists.empty()) return fail("no condition list");
    return h;
  }

 private:
  static Error fail(std::string msg) { return make_error(Errc::invalid_argument, "If header: " + msg); }
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }
  void skip_ws() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\r' || peek() == '\n')) ++i_;
  }

  // "<" ... ">" with no whitespace or '<' inside; returns the inside.
  std::optional<std::string> coded_url() {
    if (at_end() || peek() != '<') return std::nullopt;
    auto end = s_.find('>', i_ + 1);
    if (end == std::string_view::npos) return std::nullopt;
    auto inner = s_.substr(i_ + 1, end - i_ - 1);
    if (inner.empty() || inner.find_first_of(" \t<") != std::string_view::npos) return std::nullopt;
    i_ = end + 1;
    return std::string(inner);
  }

  // Parses "(" 1*Condition ")"; returns an error message or "".
  std::string parse_list(IfList& list) {
    ++i_;  // '('
    while (true) {
      skip_ws();
      if (at_end()) return "unterminated list";
      if (peek() == ')') {
        ++i_;
        break;
      }
      IfCondition c;
      if (s_.compare(i_, 3, "Not") == 0 || s_.compare(i_, 3, "not") == 0 || s_.compare(i_, 3, "NOT") == 0) {
        c.negated = true;
        i_ += 3;
        skip_ws();
        if (at_end()) return "Not without a condition";
      }
      if (peek() == '<') {
        auto tok = coded_url();
        if (!tok) return "bad state token";
        c.kind = IfCondition::Kind::state_token;
        c.value = std::move(*tok);
      } else if (peek() == '[') {
        auto end = s_.find(']', i_ + 1);
        if (end == std::string_view::npos) return "unterminated entity tag";
        auto tag = s_.substr(i_ + 1, end - i_ - 1);
        if (tag.empty()) return "empty entity tag";
        c.kind = IfCondition::Kind::etag;
        c.value = std::string(tag);
        i_ = end + 1;
      } else {
        return "expected a state token or an entity tag";
      }
      list.conditions.push_back(std::move(c));
    }
    if (list.conditions.empty()) return "empty list";
    return {};
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string tagged_resource_;
};

std::string_view bare_etag(std::string_view t) {
  if (t.size() >= 2 && (t[0] == 'W' || t[0] == 'w') && t[1] == '/') t.remove_prefix(2);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  return t;
}

bool condition_holds(const IfCondition& c, const ResourceState& st) {
  bool match = false;
  if (c.kind == IfCondition::Kind::etag) {
    match = st.exists && !st.etag.empty() && etags_match(c.value, st.etag);
  } else {
    match = std::find(st.lock_tokens.begin(), st.lock_tokens.end(), c.value) != st.lock_tokens.end();
  }
  return c.negated ? !match : match;
}

}  // namespace

bool etags_match(std::string_view a, std::string_view b) { return bare_etag(a) == bare_etag(b); }

std::vector<std::string> IfHeader::resources() const {
  std::vector<std::string> out;
  for (const auto& l : lists)
    if (l.resource && std::find(out.begin(), out.end(), *l.resource) == out.end()) out.push_back(*l.resource);
  return out;
}

std::vector<std::string> IfHeader::submitted_tokens() const {
  std::vector<std::string> out;
  for (const auto& l : lists)
    for (const auto& c : l.conditions)
      if (c.kind == IfCondition::Kind::state_token && !c.negated &&
          std::find(out.begin(), out.end(), c.value) == out.end())
        out.push_back(c.value);
  return out;
}

Result<IfHeader> parse_if_header(std::string_view value) { return IfParser(value).parse(); }

bool evaluate_if_header(const IfHeader& h, const std::function<ResourceState(const std::string& tag)>& state_of) {
  for (const auto& l : h.lists) {
    ResourceState st = state_of(l.resource ? *l.resource : std::string{});
    bool all = std::all_of(l.conditions.begin(), l.conditions.end(),
                           [&](const IfCondition& c) { return condition_holds(c, st); });
    if (all) return true;
  }
  return false;
}

}  // namespace depot::webdav
