#include "runtime/cgroups/device_rules.hpp"

#include <climits>
#include <tuple>

namespace skiff::runtime::cgroups {

Result<std::vector<DeviceRule>> normalize_device_rules(
    const std::vector<oci::DeviceCgroupRule>& rules) {
  std::vector<DeviceRule> out;
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    std::string field = cat("linux.resources.devices[", i, "]");
    DeviceRule d;
    d.allow = r.allow;
    if (r.type.empty() || r.type == "a") {
      d.type = 'a';
    } else if (r.type == "b" || r.type == "c") {
      d.type = r.type[0];
    } else {
      return error(field, ".type: ", quote(r.type), " is not one of `a`, `b`, `c`");
    }
    for (auto [value, name, target] :
         {std::tuple{r.major, "major", &d.major}, std::tuple{r.minor, "minor", &d.minor}}) {
      if (!value || *value < 0) continue;
      if (*value > INT32_MAX) return error(field, ".", name, ": ", *value, " is out of range");
      *target = *value;
    }
    if (!r.access.empty()) {
      d.access = 0;
      for (char c : r.access) {
        switch (c) {
          case 'r':
            d.access |= kAccessRead;
            break;
          case 'w':
            d.access |= kAccessWrite;
            break;
          case 'm':
            d.access |= kAccessMknod;
            break;
          default:
            return error(field, ".access: ", quote(r.access), " may only hold `r`, `w`, `m`");
        }
      }
    }
    out.push_back(d);
  }
  return out;
}

bool device_access_allowed(const std::vector<DeviceRule>& rules, char type, uint32_t major,
                           uint32_t minor, uint32_t access) {
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DeviceRule& r = *it;
    if (r.type != 'a' && r.type != type) continue;
    if (r.major >= 0 && static_cast<uint32_t>(r.major) != major) continue;
    if (r.minor >= 0 && static_cast<uint32_t>(r.minor) != minor) continue;
    bool matches = r.allow ? (access & r.access) == access : (access & r.access) != 0;
    if (matches) return r.allow;
  }
  return false;
}

std::string access_string(uint32_t access) {
  std::string s;
  if (access & kAccessRead) s += 'r';
  if (access & kAccessWrite) s += 'w';
  if (access & kAccessMknod) s += 'm';
  return s;
}

std::vector<std::string> v1_device_lines(const DeviceRule& r) {
  if (r.type == 'a' && r.major < 0 && r.minor < 0 && r.access == kAccessAll) return {"a"};
  auto num = [](int64_t n) { return n < 0 ? std::string("*") : std::to_string(n); };
  std::string rest = cat(" ", num(r.major), ":", num(r.minor), " ", access_string(r.access));
  if (r.type == 'a') return {cat("c", rest), cat("b", rest)};
  return {cat(r.type, rest)};
}

}  // namespace skiff::runtime::cgroups
