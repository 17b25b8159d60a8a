// Semantic checks on a parsed Spec, before the runtime touches the system. Each error names the
// JSON path and the reason; the first one found wins, in the order of the fields in the struct.
// Where runc rejects a config we reject it with the same reason (cited below).
#include <algorithm>
#include <set>

#include "oci/json_path.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::oci {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool is_absolute(std::string_view p) { return !p.empty() && p.front() == '/'; }

Result<void> check_absolute(const std::string& path, const std::string& value) {
  if (is_absolute(value)) return ok();
  return error(path, ": must be an absolute path, got ", json_quote(value));
}

Result<void> check_absolute_all(const std::string& path, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) TRY(check_absolute(index_path(path, i), values[i]));
  return ok();
}

Result<void> check_one_of(const std::string& path, const std::string& value,
                          const std::vector<std::string>& allowed, const char* what) {
  if (value.empty()) return error(path, ": required");
  if (contains(allowed, value)) return ok();
  return error(path, ": unknown ", what, " ", quote(value), " (expected one of ",
               join(allowed, ", "), ")");
}

const std::vector<std::string>& seccomp_actions() {
  static const std::vector<std::string> v = {
      "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
      "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
      "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};
  return v;
}

const std::vector<std::string>& seccomp_operators() {
  static const std::vector<std::string> v = {"SCMP_CMP_NE",       "SCMP_CMP_LT", "SCMP_CMP_LE",
                                             "SCMP_CMP_EQ",       "SCMP_CMP_GE", "SCMP_CMP_GT",
                                             "SCMP_CMP_MASKED_EQ"};
  return v;
}

Result<void> check_mappings(const std::string& path, const std::vector<IdMapping>& maps) {
  for (size_t i = 0; i < maps.size(); ++i)
    if (maps[i].size == 0) return error(index_path(path, i), ".size: must be greater than 0");
  return ok();
}

Result<void> check_root(const std::optional<Root>& root) {
  if (!root) return error("root: required");
  if (root->path.empty()) return error("root.path: must not be empty");
  return ok();
}

Result<void> check_mount(const std::string& path, const Mount& m) {
  TRY(check_absolute(field_path(path, "destination"), m.destination));
  bool bind = m.type == "bind" || contains(m.options, "bind") || contains(m.options, "rbind");
  if (bind && m.source.empty())
    return error(field_path(path, "source"), ": required for a bind mount");
  // Options are not checked against known_mount_options(): like runc, anything unknown is handed
  // to the filesystem as mount data ("size=64k", "mode=755", "newinstance").
  TRY(check_mappings(field_path(path, "uidMappings"), m.uid_mappings));
  TRY(check_mappings(field_path(path, "gidMappings"), m.gid_mappings));
  if (m.uid_mappings.empty() != m.gid_mappings.empty())
    return error(path, ": an idmapped mount needs both uidMappings and gidMappings");
  return ok();
}

Result<void> check_hooks(const std::string& path, const std::vector<Hook>& hooks) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string at = index_path(path, i);
    TRY(check_absolute(field_path(at, "path"), hooks[i].path));
    if (hooks[i].timeout && *hooks[i].timeout <= 0)
      return error(at, ".timeout: must be greater than 0, got ", *hooks[i].timeout);
  }
  return ok();
}

Result<void> check_all_hooks(const Hooks& h) {
  TRY(check_hooks("hooks.prestart", h.prestart));
  TRY(check_hooks("hooks.createRuntime", h.create_runtime));
  TRY(check_hooks("hooks.createContainer", h.create_container));
  TRY(check_hooks("hooks.startContainer", h.start_container));
  TRY(check_hooks("hooks.poststart", h.poststart));
  return check_hooks("hooks.poststop", h.poststop);
}

Result<void> check_namespaces(const Linux& lx) {
  std::set<std::string> seen;
  for (size_t i = 0; i < lx.namespaces.size(); ++i) {
    const auto& ns = lx.namespaces[i];
    std::string at = index_path("linux.namespaces", i);
    TRY(check_one_of(at + ".type", ns.type, known_namespace_types(), "namespace type"));
    if (!seen.insert(ns.type).second)
      return error(at, ".type: duplicate namespace ", quote(ns.type));
    if (!ns.path.empty()) TRY(check_absolute(at + ".path", ns.path));
  }
  TRY(check_mappings("linux.uidMappings", lx.uid_mappings));
  TRY(check_mappings("linux.gidMappings", lx.gid_mappings));
  const Namespace* user = lx.find_namespace("user");
  if (user && user->path.empty()) {
    // runc: "user namespaces enabled, but no uid mappings found"
    if (lx.uid_mappings.empty())
      return error("linux.uidMappings: user namespaces enabled, but no uid mappings found");
    if (lx.gid_mappings.empty())
      return error("linux.gidMappings: user namespaces enabled, but no gid mappings found");
  }
  if (!user && !lx.uid_mappings.empty())
    return error("linux.uidMappings: set, but linux.namespaces has no user namespace");
  if (!user && !lx.gid_mappings.empty())
    return error("linux.gidMappings: set, but linux.namespaces has no user namespace");
  return ok();
}

Result<void> check_time_offsets(const Linux& lx) {
  if (lx.time_offsets.empty()) return ok();
  for (const auto& [clock, offset] : lx.time_offsets) {
    std::string at = field_path("linux.timeOffsets", clock);
    if (clock != "monotonic" && clock != "boottime")
      return error(at, ": unknown clock (expected monotonic or boottime)");
    if (offset.nanosecs >= 1000000000u) return error(at, ".nanosecs: must be less than 1000000000");
  }
  const Namespace* time = lx.find_namespace("time");
  if (!time) return error("linux.timeOffsets: set, but linux.namespaces has no time namespace");
  if (!time->path.empty())
    return error("linux.timeOffsets: cannot be set when joining an existing time namespace");
  return ok();
}

Result<void> check_devices(const std::vector<Device>& devices) {
  for (size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    std::string at = index_path("linux.devices", i);
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
      return error(at, ".type: unknown device type ", quote(d.type), " (expected c, b, u or p)");
    TRY(check_absolute(at + ".path", d.path));
    if (d.major < 0 || d.minor < 0) return error(at, ": major and minor must not be negative");
  }
  return ok();
}

// "0-3,8,10-11": what cpuset.cpus and cpuset.mems accept.
bool is_cpu_list(std::string_view s) {
  for (const auto& range : split(s, ',')) {
    auto ends = split(trim(range), '-');
    if (ends.size() > 2) return false;
    for (const auto& n : ends)
      if (!parse_int<unsigned>(n)) return false;
  }
  return true;
}

// "64KB", "2MB", "1GB": the names of /sys/kernel/mm/hugepages used by the hugetlb controller.
bool is_page_size(std::string_view s) {
  if (s.size() < 3) return false;
  std::string_view unit = s.substr(s.size() - 2);
  if (unit != "KB" && unit != "MB" && unit != "GB" && unit != "TB" && unit != "PB") return false;
  return parse_int<uint64_t>(s.substr(0, s.size() - 2)).has_value();
}

Result<void> check_resources(const std::string& path, const Resources& r) {
  for (size_t i = 0; i < r.devices.size(); ++i) {
    const auto& d = r.devices[i];
    std::string at = index_path(field_path(path, "devices"), i);
    if (d.type != "a" && d.type != "c" && d.type != "b")
      return error(at, ".type: unknown device type ", quote(d.type), " (expected a, c or b)");
    if (d.access.find_first_not_of("rwm") != std::string::npos)
      return error(at, ".access: must be a combination of r, w and m, got ", json_quote(d.access));
  }
  if (const auto& m = r.memory) {
    std::string at = field_path(path, "memory");
    // runc: "memory+swap limit should be >= memory limit"
    if (m->limit && m->swap && *m->limit > 0 && *m->swap > 0 && *m->swap < *m->limit)
      return error(at, ".swap: memory+swap limit (", *m->swap, ") must be >= memory limit (",
                   *m->limit, ")");
    if (m->swappiness && *m->swappiness > 100)
      return error(at, ".swappiness: must be between 0 and 100, got ", *m->swappiness);
  }
  if (const auto& c = r.cpu) {
    std::string at = field_path(path, "cpu");
    if (!c->cpus.empty() && !is_cpu_list(c->cpus))
      return error(at, ".cpus: invalid cpu list ", json_quote(c->cpus));
    if (!c->mems.empty() && !is_cpu_list(c->mems))
      return error(at, ".mems: invalid memory node list ", json_quote(c->mems));
  }
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    const auto& h = r.hugepage_limits[i];
    if (!is_page_size(h.page_size))
      return error(index_path(field_path(path, "hugepageLimits"), i), ".pageSize: invalid ",
                   json_quote(h.page_size), " (expected a size like 2MB or 1GB)");
  }
  if (const auto& n = r.network) {
    for (size_t i = 0; i < n->priorities.size(); ++i)
      if (n->priorities[i].first.empty())
        return error(index_path(field_path(path, "network.priorities"), i), ".name: required");
  }
  for (const auto& [file, value] : r.unified)
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
      return error(field_path(field_path(path, "unified"), file), ": must be a cgroup file name");
  return ok();
}

Result<void> check_seccomp(const Seccomp& s) {
  const std::string base = "linux.seccomp";
  TRY(check_one_of(base + ".defaultAction", s.default_action, seccomp_actions(), "action"));
  // libseccomp cannot notify by default (runc: "SCMP_ACT_NOTIFY cannot be used as default action").
  if (s.default_action == "SCMP_ACT_NOTIFY")
    return error(base, ".defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  for (size_t i = 0; i < s.architectures.size(); ++i) {
    const auto& a = s.architectures[i];
    if (!a.starts_with("SCMP_ARCH_") || a.size() == 10)
      return error(index_path(base + ".architectures", i), ": unknown architecture ", quote(a));
  }
  for (size_t i = 0; i < s.flags.size(); ++i)
    if (!s.flags[i].starts_with("SECCOMP_FILTER_FLAG_"))
      return error(index_path(base + ".flags", i), ": unknown flag ", quote(s.flags[i]));
  bool notify = false;
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const auto& rule = s.syscalls[i];
    std::string at = index_path(base + ".syscalls", i);
    if (rule.names.empty()) return error(at, ".names: must not be empty");
    for (size_t n = 0; n < rule.names.size(); ++n)
      if (rule.names[n].empty()) return error(index_path(at + ".names", n), ": must not be empty");
    TRY(check_one_of(at + ".action", rule.action, seccomp_actions(), "action"));
    notify = notify || rule.action == "SCMP_ACT_NOTIFY";
    for (size_t k = 0; k < rule.args.size(); ++k) {
      std::string arg = index_path(at + ".args", k);
      if (rule.args[k].index >= 6)
        return error(arg, ".index: must be less than 6, got ", rule.args[k].index);
      TRY(check_one_of(arg + ".op", rule.args[k].op, seccomp_operators(), "operator"));
    }
  }
  if (notify && s.listener_path.empty())
    return error(base, ".listenerPath: required when an action is SCMP_ACT_NOTIFY");
  return ok();
}

Result<void> check_linux(const Linux& lx) {
  TRY(check_namespaces(lx));
  TRY(check_time_offsets(lx));
  TRY(check_devices(lx.devices));
  if (lx.resources) TRY(check_resources("linux.resources", *lx.resources));
  if (!lx.rootfs_propagation.empty()) {
    static const std::vector<std::string> kPropagation = {
        "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"};
    TRY(check_one_of("linux.rootfsPropagation", lx.rootfs_propagation, kPropagation, "value"));
  }
  TRY(check_absolute_all("linux.maskedPaths", lx.masked_paths));
  TRY(check_absolute_all("linux.readonlyPaths", lx.readonly_paths));
  for (const auto& [name, value] : lx.sysctl) {
    bool bad =
        name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos;
    if (bad) return error(field_path("linux.sysctl", name), ": invalid sysctl name");
  }
  if (lx.seccomp) TRY(check_seccomp(*lx.seccomp));
  if (lx.personality && lx.personality->domain != "LINUX" && lx.personality->domain != "LINUX32")
    return error("linux.personality.domain: unknown domain ", quote(lx.personality->domain),
                 " (expected LINUX or LINUX32)");
  return ok();
}

Result<void> check_version(const std::string& version) {
  if (version.empty()) return error("ociVersion: required");
  auto major = parse_int<unsigned>(split(version, '.')[0]);
  if (!major) return error("ociVersion: invalid version ", json_quote(version));
  if (*major != 1)
    return error("ociVersion: unsupported version ", json_quote(version),
                 " (this runtime implements 1.x)");
  return ok();
}

// runc: "unable to set hostname without a private UTS namespace" (a new one or one joined by
// path, e.g. a pod's).
Result<void> check_uts_name(const char* field, const std::string& value, const Spec& spec) {
  if (value.empty() || (spec.linux && spec.linux->find_namespace("uts"))) return ok();
  return error(field, ": cannot be set without a uts namespace in linux.namespaces");
}

}  // namespace

Result<void> validate_process(const Process& p, const std::string& path) {
  if (p.args.empty()) return error(path, ".args: must not be empty");
  if (p.args[0].empty()) return error(path, ".args[0]: must not be empty");
  TRY(check_absolute(path + ".cwd", p.cwd));
  for (size_t i = 0; i < p.env.size(); ++i)
    if (auto eq = p.env[i].find('='); eq == std::string::npos || eq == 0)
      return error(index_path(path + ".env", i), ": must be NAME=VALUE, got ",
                   json_quote(p.env[i]));
  if (p.user.umask && *p.user.umask > 0777)
    return error(path, ".user.umask: must be at most 0777, got ", *p.user.umask);
  if (const auto& caps = p.capabilities) {
    std::pair<const char*, const std::vector<std::string>*> sets[] = {
        {"bounding", &caps->bounding},
        {"effective", &caps->effective},
        {"inheritable", &caps->inheritable},
        {"permitted", &caps->permitted},
        {"ambient", &caps->ambient}};
    for (const auto& [name, set] : sets)
      for (size_t i = 0; i < set->size(); ++i)
        if (!contains(known_capabilities(), (*set)[i]))
          return error(index_path(cat(path, ".capabilities.", name), i), ": unknown capability ",
                       quote((*set)[i]));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < p.rlimits.size(); ++i) {
    const auto& r = p.rlimits[i];
    std::string at = index_path(path + ".rlimits", i);
    if (!contains(known_rlimits(), r.type))
      return error(at, ".type: unknown rlimit ", quote(r.type));
    if (!seen.insert(r.type).second) return error(at, ".type: duplicate rlimit ", quote(r.type));
    if (r.soft > r.hard)
      return error(at, ": soft limit ", r.soft, " is greater than hard limit ", r.hard);
  }
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    return error(path, ".oomScoreAdj: must be between -1000 and 1000, got ", *p.oom_score_adj);
  if (const auto& io = p.io_priority) {
    static const std::vector<std::string> kClasses = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                                      "IOPRIO_CLASS_IDLE"};
    TRY(check_one_of(path + ".ioPriority.class", io->klass, kClasses, "class"));
    if (io->priority < 0 || io->priority > 7)
      return error(path, ".ioPriority.priority: must be between 0 and 7, got ", io->priority);
  }
  return ok();
}

Result<void> validate_spec(const Spec& spec) {
  TRY(check_version(spec.oci_version));
  if (spec.process) TRY(validate_process(*spec.process, "process"));
  TRY(check_root(spec.root));
  TRY(check_uts_name("hostname", spec.hostname, spec));
  TRY(check_uts_name("domainname", spec.domainname, spec));
  for (size_t i = 0; i < spec.mounts.size(); ++i)
    TRY(check_mount(index_path("mounts", i), spec.mounts[i]));
  TRY(check_all_hooks(spec.hooks));
  if (spec.annotations.count("")) return error("annotations: keys must not be empty");
  if (spec.linux) TRY(check_linux(*spec.linux));
  return ok();
}

const std::vector<std::string>& known_namespace_types() {
  static const std::vector<std::string> v = {"pid", "network", "mount",  "ipc",
                                             "uts", "user",    "cgroup", "time"};
  return v;
}

const std::vector<std::string>& known_capabilities() {
  // Indexed by capability number (linux/capability.h).
  // clang-format off
  static const std::vector<std::string> v = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
      "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
      "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
      "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
      "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
      "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
      "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
      "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE"};
  // clang-format on
  return v;
}

const std::vector<std::string>& known_rlimits() {
  // Indexed by resource number (sys/resource.h).
  static const std::vector<std::string> v = {
      "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
      "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
      "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
      "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
  return v;
}

const std::vector<std::string>& known_mount_options() {
  static const std::vector<std::string> v = {
      // mount(2) flags and their negations
      "defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async",
      "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime",
      "relatime", "norelatime", "strictatime", "nostrictatime", "lazytime", "nolazytime",
      "iversion", "noiversion", "symfollow", "nosymfollow", "silent", "loud",
      // bind mounts and propagation
      "bind", "rbind", "shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable",
      "runbindable",
      // recursive (mount_setattr AT_RECURSIVE)
      "rro", "rrw", "rsuid", "rnosuid", "rdev", "rnodev", "rexec", "rnoexec", "ratime", "rnoatime",
      "rdiratime", "rnodiratime", "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime",
      "rsymfollow", "rnosymfollow",
      // extensions
      "tmpcopyup", "idmap", "ridmap"};
  return v;
}

}  // namespace skiff::oci
