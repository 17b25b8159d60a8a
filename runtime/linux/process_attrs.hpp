#pragma once
// Per-process attributes from process.* and linux.personality that the child applies before exec.

#include <sys/types.h>

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
// inside its namespaces). Refuses names with ".." or "/" tricks, and host-wide sysctls whose
// namespace the container does not own (net.* needs a new netns, kernel.shm*/msg*/sem/mqueue an
// ipc ns, kernel.hostname/domainname a uts ns).
Result<void> apply_sysctls(const std::map<std::string, std::string>& sysctl, int proc_fd);
// Validation for apply_sysctls' namespace rule, usable before anything is created.
Result<void> check_sysctl_allowed(const std::string& name, bool new_netns, bool new_ipcns,
                                  bool new_utsns);

}  // namespace skiff::runtime::linux
