#include "runtime/linux/sync.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <memory>
#include <vector>

namespace skiff::runtime::linux {

Result<std::pair<SyncChannel, SyncChannel>> SyncChannel::make_pair() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return errno_error("socketpair for the sync channel");
  return std::make_pair(SyncChannel(UniqueFd(sv[0])), SyncChannel(UniqueFd(sv[1])));
}

Result<void> SyncChannel::send(SyncMsg type, std::string_view payload) {
  std::string buf(sizeof(uint32_t), '\0');
  uint32_t t = static_cast<uint32_t>(type);
  memcpy(buf.data(), &t, sizeof t);
  buf.append(payload.substr(0, 60000));
  ssize_t n;
  do {
    n = ::send(fd_.get(), buf.data(), buf.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("sync channel send");
  return ok();
}

namespace {

// recv() that survives the peer's exit: a unix socket closed with unread data in its own queue
// reports ECONNRESET once, before the messages it sent us (its last error) are read.
ssize_t recv_message(int fd, char* buf, size_t size) {
  ssize_t n;
  do {
    n = ::recv(fd, buf, size, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == ECONNRESET) {
    n = ::recv(fd, buf, size, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) n = 0;  // nothing was queued: plain EOF
  }
  return n;
}

}  // namespace

Result<std::pair<SyncMsg, std::string>> SyncChannel::recv() {
  // Not zero-filled: 64 KiB of memset per message dirtied 16 pages, copy-on-write ones in a
  // container's init (a forked copy of the shim); recv writes only what came.
  constexpr size_t kSize = 65536;
  auto buf = std::make_unique_for_overwrite<char[]>(kSize);
  ssize_t n = recv_message(fd_.get(), buf.get(), kSize);
  if (n < 0) return errno_error("sync channel receive");
  if (n < static_cast<ssize_t>(sizeof(uint32_t)))
    return error("the container process exited before reporting its state");
  uint32_t t;
  memcpy(&t, buf.get(), sizeof t);
  std::string payload(buf.get() + sizeof t, static_cast<size_t>(n) - sizeof t);
  if (static_cast<SyncMsg>(t) == SyncMsg::kError) return Error(payload);
  return std::make_pair(static_cast<SyncMsg>(t), std::move(payload));
}

Result<void> SyncChannel::wait_closed() {
  char buf[65536];
  ssize_t n = recv_message(fd_.get(), buf, sizeof buf);
  if (n < 0) return errno_error("sync channel receive");
  if (n == 0) return ok();
  uint32_t t = 0;
  if (static_cast<size_t>(n) >= sizeof t) memcpy(&t, buf, sizeof t);
  if (static_cast<SyncMsg>(t) == SyncMsg::kError)
    return Error(std::string(buf + sizeof t, static_cast<size_t>(n) - sizeof t));
  return error("sync channel: unexpected message ", t, " while waiting for exec");
}

Result<std::string> SyncChannel::expect(SyncMsg type) {
  auto [t, payload] = TRY(recv());
  if (t != type)
    return error("sync channel: expected message ", static_cast<uint32_t>(type), ", got ",
                 static_cast<uint32_t>(t));
  return payload;
}

Result<void> send_fd_over(int sock, int fd, std::string_view name) {
  struct msghdr msg {};
  char data[1] = {0};
  struct iovec iov;
  std::string payload(name.empty() ? std::string_view(data, 1) : name);
  iov.iov_base = payload.data();
  iov.iov_len = payload.size();
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("send fd over socket");
  // A stream socket may take the data in pieces; the fd went with the first one.
  for (size_t off = static_cast<size_t>(n); off < payload.size();) {
    ssize_t w = ::send(sock, payload.data() + off, payload.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno_error("send over socket");
    off += static_cast<size_t>(w);
  }
  return ok();
}

Result<UniqueFd> connect_unix(const std::string& path) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return error("unix socket path ", quote(path), " is empty or too long");
  memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return errno_error("socket");
  if (::connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return errno_error("connect to ", quote(path));
  return s;
}

Result<UniqueFd> listen_unix(const std::string& path, int backlog, int mode) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return error("unix socket path ", quote(path), " is empty or too long");
  memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) return errno_error("socket");
  ::unlink(path.c_str());
  if (::bind(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
    return errno_error("bind ", quote(path));
  if (mode >= 0 && ::chmod(path.c_str(), static_cast<mode_t>(mode)) < 0)
    return errno_error("chmod ", quote(path));
  if (::listen(s.get(), backlog) < 0) return errno_error("listen ", quote(path));
  return s;
}

Result<UniqueFd> recv_fd_over(int sock, std::string* name) {
  struct msghdr msg {};
  char data[4096];
  struct iovec iov = {data, sizeof data};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("receive fd over socket");
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return error("no fd received over socket");
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  if (name) name->assign(data, static_cast<size_t>(n));
  return UniqueFd(fd);
}

Result<void> SyncChannel::send_fd(int fd) { return send_fd_over(fd_.get(), fd, "fd"); }
Result<UniqueFd> SyncChannel::recv_fd() { return recv_fd_over(fd_.get()); }

}  // namespace skiff::runtime::linux
