#include "kubelet/engine/expand.hpp"

namespace skiff::kubelet {

std::string expand_vars(std::string_view input,
                        const std::function<std::optional<std::string>(std::string_view)>& lookup) {
  std::string out;
  out.reserve(input.size());
  size_t i = 0;
  while (i < input.size()) {
    char ch = input[i];
    if (ch != '$' || i + 1 == input.size()) {
      out += ch;
      ++i;
      continue;
    }
    char next = input[i + 1];
    if (next == '$') {  // "$$": an escaped operator
      out += '$';
      i += 2;
    } else if (next == '(') {
      size_t close = input.find(')', i + 2);
      if (close == std::string_view::npos) {  // an incomplete reference stays as written
        out += "$(";
        i += 2;
        continue;
      }
      std::string_view name = input.substr(i + 2, close - i - 2);
      if (auto v = lookup(name))
        out += *v;
      else
        out.append("$(").append(name).append(")");
      i = close + 1;
    } else {  // "$x" is not a reference
      out += '$';
      out += next;
      i += 2;
    }
  }
  return out;
}

std::string expand_vars(std::string_view input, const std::map<std::string, std::string>& vars) {
  return expand_vars(input, [&](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

}  // namespace skiff::kubelet
