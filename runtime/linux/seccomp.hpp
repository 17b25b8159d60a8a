#pragma once
// seccomp with libseccomp: the filter is compiled in the parent (before clone) so the child only
// installs a ready BPF program right before execve.

#include <linux/filter.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::runtime::linux {

struct SeccompProgram {
  std::vector<struct sock_filter> filter;
  unsigned int flags = 0;       // SECCOMP_FILTER_FLAG_* for seccomp(2)
  bool wants_listener = false;  // an SCMP_ACT_NOTIFY rule exists: install with NEW_LISTENER
};

// Parent side: validates names (actions, arches, ops, syscalls unknown to this kernel's libseccomp
// are skipped as runc does) and exports the BPF program. Errors name
// "linux.seccomp.syscalls[i]...".
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& seccomp);

// Child side: installs the program (seccomp(2) SECCOMP_SET_MODE_FILTER). Returns the notify
// listener fd when the program wants one, else an invalid fd. Needs no_new_privs or CAP_SYS_ADMIN.
Result<UniqueFd> install_seccomp(const SeccompProgram& program);

// Sends the listener fd and the container state JSON to linux.seccomp.listenerPath (a unix socket)
// with SCM_RIGHTS, as the runtime-spec's seccomp notify section says: the message data is the
// spec's ContainerProcessState {"ociVersion","fds":["seccompFd"],"pid","metadata","state"}, built
// around `state_json` (its "pid" and "ociVersion" are reused); `metadata` is
// linux.seccomp.listenerMetadata.
Result<void> send_seccomp_listener(const std::string& listener_path, int listener_fd,
                                   const std::string& state_json, const std::string& metadata = "");

// Names for `skiff features`.
std::vector<std::string> seccomp_known_actions();
std::vector<std::string> seccomp_known_arches();
std::vector<std::string> seccomp_known_operators();
std::vector<std::string> seccomp_known_flags();

}  // namespace skiff::runtime::linux
