#include "kubelet/engine/fd_store.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "common/log.hpp"
#include "common/resident.hpp"

namespace skiff::kubelet::fd_store {
namespace {

int g_client = -1;

Result<struct sockaddr_un> address(const std::string& path) {
  struct sockaddr_un a {};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return error("socket path too long: ", quote(path));
  strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  return a;
}

bool send_msg(int sock, const std::string& text, int fd) {
  struct iovec iov = {const_cast<char*>(text.data()), text.size()};
  struct msghdr m {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    m.msg_control = buf;
    m.msg_controllen = sizeof buf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n;
  do n = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(text.size());
}

// One message: its text, and the fd it carried (-1 when none); false at EOF or on error.
bool recv_msg(int sock, std::string* text, int* fd) {
  char data[4096];
  struct iovec iov = {data, sizeof data};
  struct msghdr m {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  m.msg_control = buf;
  m.msg_controllen = sizeof buf;
  ssize_t n;
  do n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  *fd = -1;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      memcpy(fd, CMSG_DATA(c), sizeof(int));
  text->assign(data, static_cast<size_t>(n));
  return true;
}

// The store's loop: one client at a time (the pod's shim). A store whose socket was removed
// (the pod's run directory cleaned up without an "exit") ends by itself.
[[noreturn]] void serve(int listener, const std::string& path) {
  std::map<std::string, int> held;
  while (true) {
    struct pollfd p = {listener, POLLIN, 0};
    if (poll(&p, 1, 10'000) == 0) {
      if (::access(path.c_str(), F_OK) != 0) _exit(0);
      continue;
    }
    int c = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::string text;
    int fd;
    while (recv_msg(c, &text, &fd)) {
      std::string op = text.substr(0, text.find(' '));
      std::string name = text.size() > op.size() ? text.substr(op.size() + 1) : "";
      if (op == "put" && fd >= 0) {
        if (auto it = held.find(name); it != held.end()) ::close(it->second);
        held[name] = fd;
        fd = -1;
      } else if (op == "get") {
        auto it = held.find(name);
        send_msg(c, it == held.end() ? "none" : "ok", it == held.end() ? -1 : it->second);
      } else if (op == "drop") {
        if (auto it = held.find(name); it != held.end()) {
          ::close(it->second);
          held.erase(it);
        }
      } else if (op == "exit") {
        _exit(0);
      }
      if (fd >= 0) ::close(fd);
    }
    ::close(c);
  }
}

}  // namespace

Result<pid_t> start(const std::string& socket_path) {
  auto addr = TRY(address(socket_path));
  UniqueFd listener(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!listener) return errno_error("socket");
  ::unlink(socket_path.c_str());
  if (::bind(listener.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return errno_error("bind ", quote(socket_path));
  chmod(socket_path.c_str(), 0600);
  if (::listen(listener.get(), 4) < 0) return errno_error("listen ", quote(socket_path));
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork the fd store");
  if (pid == 0) {
    // Nothing of the shim but the listener: no signalfd, no pipes, no sockets. close_range, not
    // a walk of /proc/self/fd: opendir's 32 KiB buffer made malloc consolidate the shim's free
    // lists, writing to (and so copying) pages this child shares with the shim.
    unsigned l = static_cast<unsigned>(listener.get());
    if (l > 3) syscall(SYS_close_range, 3U, l - 1, 0);
    syscall(SYS_close_range, std::max(l + 1, 3U), ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_NAME, "skiff-fdstore");
    drop_resident_code();  // the shim's set-up code, inherited: the store runs a small loop
    serve(listener.get(), socket_path);
  }
  listener.reset();
  TRY(connect(socket_path));
  return pid;
}

Result<void> connect(const std::string& socket_path) {
  auto addr = TRY(address(socket_path));
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s) return errno_error("socket");
  if (::connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return errno_error("connect to the fd store at ", quote(socket_path));
  if (g_client >= 0) ::close(g_client);
  g_client = s.release();
  return ok();
}

void put(const std::string& name, int fd) {
  if (g_client >= 0 && fd >= 0 && !send_msg(g_client, "put " + name, fd))
    log::warn("fd store: put ", quote(name), " failed");
}

UniqueFd get(const std::string& name) {
  if (g_client < 0 || !send_msg(g_client, "get " + name, -1)) return UniqueFd();
  std::string text;
  int fd = -1;
  if (!recv_msg(g_client, &text, &fd)) return UniqueFd();
  if (text != "ok" && fd >= 0) {
    ::close(fd);
    fd = -1;
  }
  return UniqueFd(fd);
}

void drop(const std::string& name) {
  if (g_client >= 0) (void)send_msg(g_client, "drop " + name, -1);
}

void shutdown() {
  if (g_client < 0) return;
  // Until the store has gone (its end of the connection closes when it exits).
  struct timeval tv = {2, 0};
  setsockopt(g_client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (send_msg(g_client, "exit", -1)) {
    char c;
    while (::recv(g_client, &c, 1, 0) > 0) {
    }
  }
  ::close(g_client);
  g_client = -1;
}

}  // namespace skiff::kubelet::fd_store
