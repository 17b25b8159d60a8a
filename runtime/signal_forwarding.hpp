#pragma once
// Foreground `run` and `exec`: skiff stays the parent, passes the signals a user sends it on to
// the container process, and returns its exit status as a shell would (128+N for signal N).

#include <signal.h>
#include <sys/types.h>

#include "common/error.hpp"

namespace skiff::runtime {

class SignalForwarder {
 public:
  // Blocks SIGINT TERM HUP QUIT USR1 USR2 WINCH and CHLD when `active` (before the child exists,
  // so none is lost); the previous mask comes back on destruction.
  explicit SignalForwarder(bool active);
  ~SignalForwarder();
  SignalForwarder(const SignalForwarder&) = delete;
  SignalForwarder& operator=(const SignalForwarder&) = delete;

  // Waits for `pid` (a child of ours), forwarding signals to it; returns its exit code.
  Result<int> wait(pid_t pid);

 private:
  bool active_;
  sigset_t forwarded_;
  sigset_t saved_;
};

}  // namespace skiff::runtime
