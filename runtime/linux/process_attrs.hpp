#pragma once
// Per-process attributes from process.* and linux.personality that the child applies before exec.

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::runtime::linux {

// setrlimit for each process.rlimits entry; error names the rlimit and the values.
Result<void> apply_rlimits(const std::vector<oci::Rlimit>& rlimits);
// Parses "RLIMIT_NOFILE" to its resource number.
Result<int> rlimit_from_name(std::string_view name);
// personality(2) from linux.personality (LINUX, LINUX32).
Result<void> apply_personality(const oci::Personality& personality);
// ioprio_set for process.ioPriority.
Result<void> apply_io_priority(const oci::IoPriority& prio);
// Writes /proc/<pid>/oom_score_adj (pid 0 = self).
Result<void> apply_oom_score_adj(pid_t pid, int value);
// Writes linux.sysctl entries under /proc/sys (child side, after the container's /proc exists and
// inside its namespaces, before /proc/sys is made read-only). `proc_fd` is an fd of that /proc;
// each file is opened beneath it without following symlinks and must be on procfs. Refuses names
// with empty, "." or ".." components ("a.b.c" uses dots, "net/ipv4/conf/eth0.1/x" slashes).
// It cannot see the host's namespaces from inside: the namespace rule below is checked by
// check_sysctls_allowed in the parent before clone.
Result<void> apply_sysctls(const std::map<std::string, std::string>& sysctl, int proc_fd);
// Validation for apply_sysctls' namespace rule, usable before anything is created: host-wide
// sysctls are refused, and namespaced ones need the container to own that namespace (net.* a
// netns, kernel.shm*/msg*/sem/fs.mqueue.* an ipc ns, kernel.hostname/domainname a uts ns).
Result<void> check_sysctl_allowed(const std::string& name, bool new_netns, bool new_ipcns,
                                  bool new_utsns);
// Parent side: check_sysctl_allowed for every linux.sysctl entry. A namespace counts as the
// container's when linux.namespaces has it without a path, or with a path to a namespace other
// than the caller's (the host's), like runc's validator.
Result<void> check_sysctls_allowed(const oci::Linux& config);

}  // namespace skiff::runtime::linux
