// linux.cgroupsPath → the container's path inside every hierarchy (see manager.hpp).

#include "common/fs.hpp"
#include "runtime/cgroups/manager.hpp"

namespace skiff::runtime::cgroups {
namespace {

// --systemd-cgroup wants "slice:prefix:name" (runc's systemd driver): a transient scope
// "prefix-name.scope" in "slice". skiff has no D-Bus client, so it refuses rather than fakes it.
Result<std::string> systemd_path(const Options& o) {
  std::string path =
      o.cgroups_path.empty() ? cat("system.slice:skiff:", o.container_id) : o.cgroups_path;
  auto parts = split(path, ':');
  bool well_formed =
      parts.size() == 3 && !parts[2].empty() && (parts[0].empty() || parts[0].ends_with(".slice"));
  for (const auto& p : parts) well_formed = well_formed && p.find('/') == std::string::npos;
  if (!well_formed)
    return error("--systemd-cgroup: linux.cgroupsPath ", quote(path),
                 " is not of the form `slice:prefix:name` (e.g. `system.slice:skiff:c1`)");
  if (!path_exists(o.systemd_run_dir))
    return error("--systemd-cgroup: cannot serve systemd cgroup path ", quote(path),
                 ": systemd is not running on this host");
  return error("--systemd-cgroup: cannot serve systemd cgroup path ", quote(path),
               ": skiff has no systemd cgroup driver (it would need D-Bus to ask systemd for a "
               "scope); run without --systemd-cgroup to use cgroupfs directly");
}

}  // namespace

Result<std::string> resolve_cgroups_path(const Options& o) {
  if (o.systemd) return systemd_path(o);
  if (o.cgroups_path.empty()) {
    const std::string& id = o.container_id;
    if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos)
      return error("cannot derive a cgroup path from container id ", quote(id),
                   " (linux.cgroupsPath is empty)");
    return cat("/skiff/", id);
  }
  // Lexical clean-up that refuses to climb above the hierarchy root: "/a/../../etc" must not
  // quietly become "/etc".
  std::vector<std::string> parts;
  for (auto& part : split(o.cgroups_path, '/', true)) {
    if (part == ".") continue;
    if (part == "..") {
      if (parts.empty())
        return error("linux.cgroupsPath ", quote(o.cgroups_path),
                     ": `..` climbs above the cgroup root");
      parts.pop_back();
      continue;
    }
    parts.push_back(std::move(part));
  }
  if (parts.empty())
    return error("linux.cgroupsPath ", quote(o.cgroups_path),
                 ": names the root cgroup; a container needs a cgroup of its own");
  return cat("/", join(parts, "/"));
}

}  // namespace skiff::runtime::cgroups
