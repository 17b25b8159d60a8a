#pragma once
// The last steps of every process that enters a container (the init and `exec`), child side:
// attributes, identity, working directory, then closing fds, seccomp and execve.

#include <string>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/linux/seccomp.hpp"

namespace skiff::runtime::linux {

struct PreparedProcess {
  std::string executable;  // resolved through the process's PATH
  bool seccomp_installed = false;
};

// rlimits, personality, io priority, (seccomp before the identity switch when no_new_privileges
// is off, as runc), user/groups/capabilities, umask, cwd (verified to be inside the container:
// CVE-2024-21626), and the executable lookup — so that "not found" is reported before `create`
// returns.
Result<PreparedProcess> prepare_process(const oci::Process& p, const oci::Spec* spec,
                                        const SeccompProgram* seccomp, bool setgroups_allowed,
                                        UniqueFd* listener);

// Marks every fd above 2 + preserve_fds close-on-exec, installs seccomp (when not done yet) and
// execs. Returns only on error.
Error exec_process(const oci::Process& p, const PreparedProcess& prepared,
                   const SeccompProgram* seccomp, int preserve_fds);

// PATH lookup of args[0] in the process's env, as the container user.
Result<std::string> find_executable(const oci::Process& p);

}  // namespace skiff::runtime::linux
