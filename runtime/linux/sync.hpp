#pragma once
// The parent/child sync channel across clone(): a SOCK_SEQPACKET socketpair carrying typed
// messages, so a child that fails reports its full error text instead of a bare exit code
// (nsjail subproc.cc, youki process/channel.rs).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace skiff::runtime::linux {

enum class SyncMsg : uint32_t {
  kGo = 1,        // parent → child: id maps written, cgroup joined; go on
  kRunHooks,      // child → parent: run prestart/createRuntime hooks now (payload: none)
  kHooksDone,     // parent → child
  kReady,         // child → parent: created; waiting for start
  kStart,         // parent → child: exec now (`run` uses this instead of the exec fifo)
  kPid,           // child → parent: pid of a process (decimal text)
  kSeccompFd,     // child → parent: a seccomp notify fd follows (SCM_RIGHTS)
  kCgroupJoined,  // parent → child: the child is in its cgroup now
  kError,         // either way: payload is the error message; the sender exits
};

class SyncChannel {
 public:
  SyncChannel() = default;
  explicit SyncChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  // A connected pair: first for the parent, second for the child.
  static Result<std::pair<SyncChannel, SyncChannel>> make_pair();

  Result<void> send(SyncMsg type, std::string_view payload = {});
  // Receives the next message; a kError message is returned as an Error with its text, and EOF
  // (the other side died) as an error saying so.
  Result<std::pair<SyncMsg, std::string>> recv();
  // Waits until the other side closes its end — e.g. by a successful execve of an O_CLOEXEC
  // holder; a kError message instead (the exec failed) is returned as that error.
  Result<void> wait_closed();
  // recv() that also checks the message type.
  Result<std::string> expect(SyncMsg type);
  // Sends an fd with SCM_RIGHTS.
  Result<void> send_fd(int fd);
  Result<UniqueFd> recv_fd();

  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

// Sends `fd` over a unix socket with SCM_RIGHTS and `name` as the data (the console-socket
// protocol of runc: the pty master with its path as the message).
Result<void> send_fd_over(int sock, int fd, std::string_view name);
Result<UniqueFd> recv_fd_over(int sock, std::string* name = nullptr);
// A connected SOCK_STREAM unix socket (the console socket, the seccomp listener).
Result<UniqueFd> connect_unix(const std::string& path);
// A listening, non-blocking SOCK_STREAM unix socket at `path` (a stale socket file there is
// replaced), its file mode set to `mode` when given (the shim's 0600 control socket).
Result<UniqueFd> listen_unix(const std::string& path, int backlog, int mode = -1);

}  // namespace skiff::runtime::linux
