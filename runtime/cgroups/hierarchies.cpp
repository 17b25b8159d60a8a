#include "runtime/cgroups/hierarchies.hpp"

#include <algorithm>
#include <set>

#include "common/fs.hpp"

namespace skiff::runtime::cgroups {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto v = parse_int<int>(s.substr(i + 1, 3), 8);
      if (v) {
        out.push_back(static_cast<char>(*v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool below(const std::string& path, const std::string& root) {
  std::string r = clean_path(root);
  if (r == "/") return path != "/";
  return path.size() > r.size() && path.compare(0, r.size(), r) == 0 && path[r.size()] == '/';
}

}  // namespace

std::string Hierarchy::name() const {
  size_t slash = mountpoint.find_last_of('/');
  return slash == std::string::npos ? mountpoint : mountpoint.substr(slash + 1);
}

bool Hierarchy::has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

const std::vector<std::string>& v1_known_controllers() {
  static const std::vector<std::string> kControllers = {
      "cpu",  "cpuacct", "cpuset",  "memory",   "devices",    "freezer", "blkio",
      "pids", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma",    "misc"};
  return kControllers;
}

std::vector<Hierarchy> parse_cgroup_mounts(std::string_view mountinfo, const std::string& root) {
  static const std::set<std::string> kControllerNames = {
      "cpu",     "cpuacct", "cpuset",   "memory",     "devices", "freezer", "blkio", "pids",
      "hugetlb", "net_cls", "net_prio", "perf_event", "rdma",    "misc",    "debug"};
  std::vector<Hierarchy> out;
  std::set<std::string> seen;  // controller sets already listed
  for (const auto& line : split(mountinfo, '\n', true)) {
    auto fields = split(line, ' ', true);
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (dash == fields.end() || fields.end() - dash < 4 || dash - fields.begin() < 6) continue;
    const std::string& fstype = dash[1];
    std::string mountpoint = unescape(fields[4]);
    // A mount listed later at or above an earlier one's mount point hides it (mountinfo lists a
    // namespace's mounts in mount order): a tmpfs over /sys/fs/cgroup hides the hierarchies
    // that were mounted below it, though they stay in mountinfo. "/" is left out: a root moved
    // into place (switch_root, pivot_root) can be listed after the mounts it carries.
    std::erase_if(out, [&](const Hierarchy& earlier) {
      if (mountpoint == "/") return false;
      bool hidden = earlier.mountpoint == mountpoint || below(earlier.mountpoint, mountpoint);
      if (hidden) seen.erase(earlier.cgroup2 ? "cgroup2" : join(earlier.controllers, ","));
      return hidden;
    });
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    Hierarchy h;
    h.mountpoint = std::move(mountpoint);
    if (!below(h.mountpoint, root)) continue;
    h.cgroup2 = fstype == "cgroup2";
    if (!h.cgroup2) {
      for (const auto& opt : split(dash[3], ',', true))
        if (kControllerNames.count(opt) || opt.starts_with("name=")) h.controllers.push_back(opt);
      if (h.controllers.empty()) continue;
    }
    std::string key = h.cgroup2 ? "cgroup2" : join(h.controllers, ",");
    if (!seen.insert(key).second) continue;
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<Hierarchy>> discover_hierarchies(const std::string& root) {
  auto text = TRY(read_file("/proc/self/mountinfo"));
  return parse_cgroup_mounts(text, root);
}

bool used_for_containers(const Hierarchy& h) {
  if (h.cgroup2 || h.has("name=systemd")) return true;
  for (const auto& c : v1_known_controllers())
    if (h.has(c)) return true;
  return false;
}

}  // namespace skiff::runtime::cgroups
