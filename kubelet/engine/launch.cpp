#include "kubelet/engine/launch.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.hpp"
#include "runtime/linux/sync.hpp"

namespace skiff::kubelet {

Result<pid_t> launch_container(const runtime::GlobalOptions& g, const std::string& id,
                               const std::string& bundle, const Stdio& stdio) {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return errno_error("open /dev/null");
  UniqueFd cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  // Joining a pid namespace (shareProcessNamespace) makes the runtime setns(CLONE_NEWPID) in this
  // process, which moves all its later children there; this one is restored afterwards.
  UniqueFd pid_ns(::open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
  UniqueFd saved[3];
  for (int fd = 0; fd < 3; ++fd) saved[fd].reset(fcntl(fd, F_DUPFD_CLOEXEC, 3));
  auto restore = [&] {
    for (int fd = 0; fd < 3; ++fd) {
      if (saved[fd])
        dup2(saved[fd].get(), fd);
      else
        ::close(fd);
    }
    // runtime::run changes into the bundle directory.
    if (cwd) (void)!fchdir(cwd.get());
    if (pid_ns) (void)setns(pid_ns.get(), CLONE_NEWPID);
  };
  int wanted[3] = {stdio.in, stdio.out, stdio.err};
  for (int fd = 0; fd < 3; ++fd)
    if (dup2(wanted[fd] >= 0 ? wanted[fd] : null.get(), fd) < 0)
      return [&] {
        Error e = errno_error("dup2 the container's stdio");
        restore();
        return e;
      }();
  runtime::RunOptions o;
  o.id = id;
  o.bundle = bundle;
  o.detach = true;
  // The shim ignores SIGPIPE: its containers start with every signal at its default (`yes |
  // head` ends), as containerd's do.
  o.default_signals = true;
  UniqueFd listener;
  if (stdio.console) {
    auto l = runtime::linux::listen_unix(stdio.console_socket, 1);
    if (!l) {
      restore();
      return std::move(l).error();
    }
    listener = std::move(*l);
    o.console_socket = stdio.console_socket;
  }
  Result<int> ran = runtime::run(g, o);
  restore();
  if (listener) ::unlink(stdio.console_socket.c_str());
  if (!ran) return std::move(ran).error();
  // The container runs from here on: a failure below must not leave it behind (the caller only
  // removes the bundle).
  auto started = [&]() -> Result<pid_t> {
    if (listener) {
      // The runtime connected and sent the master before the container started: both wait in
      // the socket.
      UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!conn) return errno_error("accept on the console socket");
      *stdio.console = TRY_CTX(runtime::linux::recv_fd_over(conn.get()), "the container's pty");
    }
    auto info = TRY(runtime::state(g, id));
    return info.pid;
  }();
  if (!started) (void)runtime::remove(g, id, true);
  return started;
}

}  // namespace skiff::kubelet
