#pragma once
// process.terminal: the container gets a pty whose master goes to the caller's --console-socket
// (runc's protocol: SCM_RIGHTS over a unix socket), and whose slave becomes its stdio and
// controlling terminal.

#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::runtime::linux {

// Parent side: connects to the --console-socket path (before the child pivots away from it).
Result<UniqueFd> connect_console_socket(const std::string& path);

// Child side, after the container's /dev/pts exists: opens /dev/ptmx, sends the master to
// `console_socket`, and makes the slave stdin/stdout/stderr and the controlling terminal.
Result<void> setup_console(int console_socket, const std::optional<oci::ConsoleSize>& size);

// A pty pair created here (foreground `run -t` / `exec -t` without a console socket).
struct Pty {
  UniqueFd master;
  UniqueFd slave;
};
Result<Pty> open_pty();
// Copies stdin → master and master → stdout until the master closes; raw mode on a terminal.
void proxy_pty(int master);

}  // namespace skiff::runtime::linux
