#include "oci/image/reference.hpp"

#include "common/strings.hpp"

namespace skiff::image {
namespace {

bool is_alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
bool is_path_component(std::string_view s) {
  size_t i = 0;
  auto alnum_run = [&] {
    size_t start = i;
    while (i < s.size() && is_alnum_lower(s[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnum_run()) return false;
  }
  return true;
}

// host[:port], host made of dot-separated [A-Za-z0-9-] labels, or a bracketed IPv6 address.
bool is_domain(std::string_view s) {
  std::string_view host = s;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    host = s.substr(0, close + 1);
    s = s.substr(close + 1);
    if (!s.empty() && s[0] != ':') return false;
    if (!s.empty()) return parse_int<unsigned>(s.substr(1)).has_value();
    return host.size() > 2;
  }
  size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    host = s.substr(0, colon);
    if (!parse_int<unsigned>(s.substr(colon + 1))) return false;
  }
  if (host.empty()) return false;
  for (const auto& label : split(host, '.')) {
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      bool ok = is_alnum_lower(c) || (c >= 'A' && c <= 'Z') || c == '-';
      if (!ok) return false;
    }
  }
  return true;
}

}  // namespace

bool is_valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return is_alnum_lower(c) || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!word(t[0])) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

std::string Reference::str() const {
  std::string s = repository();
  if (!tag.empty()) s += cat(':', tag);
  if (digest) s += cat('@', digest->str());
  if (tag.empty() && !digest) s += ":latest";
  return s;
}

Result<Reference> parse_reference(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return error("invalid image reference ", quote(text), ": ", why);
  };
  if (text.empty()) return bad("empty");
  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    auto d = parse_digest(rest.substr(at + 1));
    if (!d) return bad(d.error().message());
    ref.digest = std::move(*d);
    rest = rest.substr(0, at);
  }
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (!is_valid_tag(ref.tag)) return bad(cat("invalid tag ", quote(ref.tag)));
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no repository name");
  std::vector<std::string> parts = split(rest, '/');
  size_t first = 0;
  if (parts.size() > 1 &&
      (parts[0].find_first_of(".:") != std::string::npos || parts[0] == "localhost" ||
       parts[0].find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)) {
    if (!is_domain(parts[0])) return bad(cat("invalid registry ", quote(parts[0])));
    ref.domain = parts[0];
    first = 1;
  } else {
    ref.domain = kDefaultDomain;
  }
  if (ref.domain == "index.docker.io") ref.domain = kDefaultDomain;
  std::vector<std::string> path(parts.begin() + static_cast<long>(first), parts.end());
  for (const auto& p : path) {
    if (p.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)
      return bad("repository names must be lowercase");
    if (!is_path_component(p)) return bad(cat("invalid path component ", quote(p)));
  }
  if (ref.domain == kDefaultDomain && path.size() == 1) path.insert(path.begin(), "library");
  ref.path = join(path, "/");
  if (ref.repository().size() > 255) return bad("repository name longer than 255 characters");
  return ref;
}

}  // namespace skiff::image
