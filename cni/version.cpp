#include "cni/version.hpp"

#include <algorithm>

#include "common/strings.hpp"

namespace skiff::cni {

const std::vector<std::string>& supported_versions() {
  static const std::vector<std::string> versions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  return versions;
}

bool version_supported(std::string_view version) {
  const auto& v = supported_versions();
  return std::find(v.begin(), v.end(), version) != v.end();
}

std::optional<std::array<int, 3>> parse_version(std::string_view version) {
  auto parts = split(version, '.');
  if (parts.size() != 3) return std::nullopt;
  std::array<int, 3> out{};
  for (size_t i = 0; i < 3; ++i) {
    auto n = parse_int<int>(parts[i]);
    if (!n || *n < 0) return std::nullopt;
    out[i] = *n;
  }
  return out;
}

int compare_versions(std::string_view a, std::string_view b) {
  auto va = parse_version(a), vb = parse_version(b);
  if (!va || !vb) return static_cast<int>(va.has_value()) - static_cast<int>(vb.has_value());
  for (size_t i = 0; i < 3; ++i)
    if ((*va)[i] != (*vb)[i]) return (*va)[i] < (*vb)[i] ? -1 : 1;
  return 0;
}

bool version_at_least(std::string_view version, std::string_view minimum) {
  return compare_versions(version, minimum) >= 0;
}

std::optional<std::string> pick_version(const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  for (const auto& c : candidates)
    if (version_supported(c) && (!best || compare_versions(c, *best) > 0)) best = c;
  return best;
}

}  // namespace skiff::cni
