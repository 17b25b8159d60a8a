#pragma once
// Starts a runtime container (runtime::run, detached) with its stdio on the fds the caller gives:
// the container's init is cloned from this process and inherits fds 0-2, so they are swapped in
// for the call and put back afterwards. Single-threaded callers only (the shim is).

#include <sys/types.h>

#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/container.hpp"

namespace skiff::kubelet {

struct Stdio {
  int in = -1, out = -1, err = -1;  // -1: /dev/null
  // process.terminal: the runtime sends the pty's master to a unix socket made at this path for
  // the call (runc's --console-socket), and `console` receives it.
  std::string console_socket;
  UniqueFd* console = nullptr;
};

// Runs the bundle as container `id` and returns its init's pid (a child of this process).
Result<pid_t> launch_container(const runtime::GlobalOptions& g, const std::string& id,
                               const std::string& bundle, const Stdio& stdio);

}  // namespace skiff::kubelet
