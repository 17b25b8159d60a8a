#include "kubelet/engine/fd_store.hpp"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.hpp"

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

}  // namespace

Result<UniqueFd> listen(const std::string& socket_path) {
  auto addr = TRY(address(socket_path));
  UniqueFd listener(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!listener) return errno_error("socket");
  ::unlink(socket_path.c_str());
  if (::bind(listener.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return errno_error("bind ", quote(socket_path));
  chmod(socket_path.c_str(), 0600);
  if (::listen(listener.get(), 4) < 0) {
    ::unlink(socket_path.c_str());
    return errno_error("listen ", quote(socket_path));
  }
  return listener;
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
