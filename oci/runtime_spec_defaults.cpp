// The config.json `skiff spec` writes: the same document as `runc spec` (runc's
// libcontainer/specconv/example.go), with our version and hostname.
#include <unistd.h>

#include "oci/runtime_spec.hpp"

namespace skiff::oci {
namespace {

Json mount(const char* destination, const char* type, const char* source,
           std::vector<std::string> options = {}) {
  Json m = {{"destination", destination}, {"type", type}, {"source", source}};
  if (!options.empty()) m["options"] = std::move(options);
  return m;
}

// runc's ToRootless: a user namespace mapping root to the caller, no network namespace (a rootless
// caller could not configure one), /sys bind-mounted (sysfs needs a network namespace we own), no
// uid=/gid= mount options (the ids may not be mapped) and no cgroup resources.
void make_rootless(Json& spec) {
  Json& lx = spec["linux"];
  Json namespaces = Json::array();
  for (const auto& ns : lx["namespaces"])
    if (ns["type"] != "network" && ns["type"] != "user") namespaces.push_back(ns);
  namespaces.push_back({{"type", "user"}});
  lx["namespaces"] = std::move(namespaces);
  lx["uidMappings"] = {{{"containerID", 0}, {"hostID", geteuid()}, {"size", 1}}};
  lx["gidMappings"] = {{{"containerID", 0}, {"hostID", getegid()}, {"size", 1}}};
  lx.erase("resources");
  for (auto& m : spec["mounts"]) {
    if (m["destination"] == "/sys") {
      m = mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
      continue;
    }
    if (!m.contains("options")) continue;
    Json options = Json::array();
    for (const auto& o : m["options"]) {
      std::string s = o.get<std::string>();
      if (!s.starts_with("uid=") && !s.starts_with("gid=")) options.push_back(s);
    }
    m["options"] = std::move(options);
  }
}

}  // namespace

Json default_spec(bool rootless) {
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  Json process = {
      {"terminal", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", {"sh"}},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
      {"cwd", "/"},
      {"capabilities",
       {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
      {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
      {"noNewPrivileges", true}};
  Json mounts = {
      mount("/proc", "proc", "proc"),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  };
  Json namespaces = Json::array();
  for (const char* type : {"pid", "network", "ipc", "uts", "mount", "cgroup"})
    namespaces.push_back({{"type", type}});
  Json lx = {
      {"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
      {"namespaces", std::move(namespaces)},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  Json spec = {{"ociVersion", kRuntimeSpecVersion},
               {"process", std::move(process)},
               {"root", {{"path", "rootfs"}, {"readonly", true}}},
               {"hostname", "skiff"},
               {"mounts", std::move(mounts)},
               {"linux", std::move(lx)}};
  if (rootless) make_rootless(spec);
  return spec;
}

}  // namespace skiff::oci
