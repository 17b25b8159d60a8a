#include "runtime/linux/process_attrs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"

namespace skiff::runtime::linux {
namespace {

struct NamedRlimit {
  const char* name;
  int resource;
};
constexpr NamedRlimit kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

// linux/ioprio.h (not in every uapi header set).
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;
struct NamedIoClass {
  const char* name;
  int klass;
};
constexpr NamedIoClass kIoClasses[] = {
    {"IOPRIO_CLASS_RT", 1},
    {"IOPRIO_CLASS_BE", 2},
    {"IOPRIO_CLASS_IDLE", 3},
};

std::string sysctl_path(const std::string& name) { return cat("linux.sysctl[\"", name, "\"]"); }

// Splits a sysctl name into /proc/sys path components. "net.ipv4.ip_forward" uses dots; like
// sysctl(8), a name with slashes ("net/ipv4/conf/eth0.100/forwarding") uses them instead, so an
// interface name may contain a dot. Empty, "." and ".." components are refused: the name must
// stay under /proc/sys.
Result<std::vector<std::string>> sysctl_components(const std::string& name) {
  char sep = name.find('/') != std::string::npos ? '/' : '.';
  std::vector<std::string> parts = split(name, sep);
  if (name.empty()) return error("linux.sysctl: empty sysctl name");
  for (const auto& p : parts) {
    if (p.empty() || p == "." || p == ".." || p.find('\0') != std::string::npos ||
        (sep == '/' && p.find('/') != std::string::npos))
      return error(sysctl_path(name), ": invalid sysctl name");
  }
  return parts;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// Opens proc_fd/sys/<components> for writing without following any symlink and without leaving
// proc_fd: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), or one O_NOFOLLOW component at a time
// on kernels without openat2.
Result<UniqueFd> open_sysctl(int proc_fd, const std::vector<std::string>& parts) {
  std::string rel = cat("sys/", join(parts, "/"));
  struct open_how how = {};
  how.flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, proc_fd, rel.c_str(), &how, sizeof how);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  if (errno != ENOSYS) return errno_error("open ", quote(cat("/proc/", rel)));

  UniqueFd dir(openat(proc_fd, "sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return errno_error("open ", quote("/proc/sys"));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    UniqueFd next(
        openat(dir.get(), parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return errno_error("open ", quote(cat("/proc/", rel)));
    dir = std::move(next);
  }
  UniqueFd file(openat(dir.get(), parts.back().c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file) return errno_error("open ", quote(cat("/proc/", rel)));
  return file;
}

// Same namespace as ours (the runtime's, i.e. the host's)? Used for namespaces joined by path.
bool same_namespace_as_ours(std::string_view type, const std::string& path) {
  const char* self = type == "network" ? "/proc/self/ns/net"
                     : type == "ipc"   ? "/proc/self/ns/ipc"
                                       : "/proc/self/ns/uts";
  struct stat a, b;
  if (::stat(self, &a) < 0 || ::stat(path.c_str(), &b) < 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<int> rlimit_from_name(std::string_view name) {
  for (const auto& r : kRlimits)
    if (name == r.name) return r.resource;
  return error("unknown rlimit ", quote(name));
}

Result<void> apply_rlimits(const std::vector<oci::Rlimit>& rlimits) {
  for (size_t i = 0; i < rlimits.size(); ++i) {
    const auto& r = rlimits[i];
    int resource = TRY_CTX(rlimit_from_name(r.type), "process.rlimits[", i, "].type");
    struct rlimit lim = {static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (setrlimit(static_cast<__rlimit_resource>(resource), &lim) < 0)
      return errno_error("setrlimit ", r.type, " soft=", r.soft, " hard=", r.hard);
  }
  return ok();
}

Result<void> apply_personality(const oci::Personality& p) {
  unsigned long persona;
  if (p.domain == "LINUX") {
    persona = PER_LINUX;
  } else if (p.domain == "LINUX32") {
    persona = PER_LINUX32;
  } else {
    return error("linux.personality.domain: unknown domain ", quote(p.domain),
                 " (LINUX or LINUX32)");
  }
  if (!p.flags.empty())
    return error("linux.personality.flags: not supported: ", join(p.flags, ", "));
  if (personality(persona) < 0) return errno_error("personality(", p.domain, ")");
  return ok();
}

Result<void> apply_io_priority(const oci::IoPriority& prio) {
  auto it = std::find_if(std::begin(kIoClasses), std::end(kIoClasses),
                         [&](const NamedIoClass& c) { return prio.klass == c.name; });
  if (it == std::end(kIoClasses))
    return error("process.ioPriority.class: unknown class ", quote(prio.klass));
  if (prio.priority < 0 || prio.priority > 7)
    return error("process.ioPriority.priority: ", prio.priority, " is out of range 0..7");
  int value = (it->klass << kIoprioClassShift) | prio.priority;
  if (syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, value) < 0)
    return errno_error("ioprio_set(", prio.klass, ", ", prio.priority, ")");
  return ok();
}

Result<void> apply_oom_score_adj(pid_t pid, int value) {
  std::string path = pid == 0 ? "/proc/self/oom_score_adj" : cat("/proc/", pid, "/oom_score_adj");
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno_error("open ", quote(path));
  std::string text = std::to_string(value);
  if (write(fd.get(), text.data(), text.size()) < 0)
    return errno_error("write ", quote(path), " (", value, ")");
  return ok();
}

Result<void> check_sysctl_allowed(const std::string& name, bool new_netns, bool new_ipcns,
                                  bool new_utsns) {
  auto parts = TRY(sysctl_components(name));
  std::string dotted = join(parts, ".");
  auto need = [&](bool have, const char* what) -> Result<void> {
    if (have) return ok();
    return error(sysctl_path(name), ": needs a new ", what,
                 " namespace, refusing to change the host's");
  };
  if (parts[0] == "net") return need(new_netns, "network");
  if (starts_with(dotted, "fs.mqueue.") || starts_with(dotted, "kernel.msg") ||
      starts_with(dotted, "kernel.shm") || dotted == "kernel.sem" || dotted == "kernel.sem_next_id")
    return need(new_ipcns, "ipc");
  if (dotted == "kernel.hostname" || dotted == "kernel.domainname") return need(new_utsns, "uts");
  return error(sysctl_path(name), ": not namespaced, refusing to change it for the host");
}

Result<void> check_sysctls_allowed(const oci::Linux& config) {
  if (config.sysctl.empty()) return ok();
  // A namespace is the container's own when it is new, or joined by a path that is not ours.
  auto owned = [&](std::string_view type) {
    for (const auto& ns : config.namespaces)
      if (ns.type == type) return ns.path.empty() || !same_namespace_as_ours(type, ns.path);
    return false;
  };
  bool net = owned("network"), ipc = owned("ipc"), uts = owned("uts");
  for (const auto& [name, value] : config.sysctl) TRY(check_sysctl_allowed(name, net, ipc, uts));
  return ok();
}

Result<void> apply_sysctls(const std::map<std::string, std::string>& sysctl, int proc_fd) {
  for (const auto& [name, value] : sysctl) {
    auto parts = TRY(sysctl_components(name));
    std::string where = cat(sysctl_path(name), ": ");
    UniqueFd fd = TRY_CTX(open_sysctl(proc_fd, parts), sysctl_path(name));
    // A file reached through a bind mount of something else would make us write elsewhere.
    if (!is_procfs(fd.get()))
      return error(where, quote(cat("/proc/sys/", join(parts, "/"))), " is not on procfs");
    // One write(2): a sysctl parses what a single write hands it.
    ssize_t n = write(fd.get(), value.data(), value.size());
    if (n < 0)
      return errno_error(where, "write ", quote(value), " to ",
                         quote(cat("/proc/sys/", join(parts, "/"))));
    if (static_cast<size_t>(n) != value.size())
      return error(where, "short write of ", quote(value));
  }
  return ok();
}

}  // namespace skiff::runtime::linux
