#include "master/server/http.hpp"

#include <algorithm>

#include "common/strings.hpp"

namespace skiff::master {

bool Identity::in_group(std::string_view g) const {
  return std::find(groups.begin(), groups.end(), g) != groups.end();
}

std::string HttpRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpRequest::param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto v = parse_int<int>(s.substr(i + 1, 2), 16);
      if (v) {
        out.push_back(static_cast<char>(*v));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  for (const auto& part : split(q, '&', true)) {
    auto eq = part.find('=');
    if (eq == std::string::npos)
      out[percent_decode(part, true)] = "";
    else
      out[percent_decode(std::string_view(part).substr(0, eq), true)] =
          percent_decode(std::string_view(part).substr(eq + 1), true);
  }
  return out;
}

}  // namespace skiff::master
