#include "runtime/signal_forwarding.hpp"

#include <sys/wait.h>

namespace skiff::runtime {

SignalForwarder::SignalForwarder(bool active) : active_(active) {
  sigemptyset(&forwarded_);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD})
    sigaddset(&forwarded_, s);
  if (active_) sigprocmask(SIG_BLOCK, &forwarded_, &saved_);
}

SignalForwarder::~SignalForwarder() {
  if (active_) sigprocmask(SIG_SETMASK, &saved_, nullptr);
}

Result<int> SignalForwarder::wait(pid_t pid) {
  int status = 0;
  while (true) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return errno_error("wait for process ", pid);
    // SIGCHLD wakes us at once; the timeout only bounds a missed wake-up.
    struct timespec timeout = {0, 200 * 1000 * 1000};
    siginfo_t info;
    int sig = sigtimedwait(&forwarded_, &info, &timeout);
    if (sig > 0 && sig != SIGCHLD) ::kill(pid, sig);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace skiff::runtime
