#include "runtime/linux/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.hpp"
#include "runtime/linux/sync.hpp"

namespace skiff::runtime::linux {

Result<UniqueFd> connect_console_socket(const std::string& path) {
  return TRY_CTX(connect_unix(path), "--console-socket");
}

Result<Pty> open_pty() {
  UniqueFd master(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) master.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return errno_error("open /dev/ptmx");
  if (unlockpt(master.get()) < 0) return errno_error("unlockpt");
  // TIOCGPTPEER opens the slave through the master: no path lookup that a container could race.
  int slave = ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return errno_error("open the pty slave");
  return Pty{std::move(master), UniqueFd(slave)};
}

Result<void> setup_console(int console_socket, const std::optional<oci::ConsoleSize>& size) {
  auto pty = TRY_CTX(open_pty(), "create the container's terminal");
  if (size) {
    struct winsize ws {};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    if (ioctl(pty.master.get(), TIOCSWINSZ, &ws) < 0) return errno_error("set terminal size");
  }
  char name[128] = "/dev/pts/?";
  ptsname_r(pty.master.get(), name, sizeof name);
  TRY_CTX(send_fd_over(console_socket, pty.master.get(), name), "send the pty to --console-socket");
  if (setsid() < 0 && errno != EPERM) return errno_error("setsid");
  if (ioctl(pty.slave.get(), TIOCSCTTY, 0) < 0)
    return errno_error("make the pty the controlling tty");
  for (int fd = 0; fd < 3; ++fd)
    if (dup3(pty.slave.get(), fd, 0) < 0) return errno_error("dup the pty to fd ", fd);
  return ok();
}

void proxy_pty(int master) {
  struct termios saved;
  bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
    struct winsize ws;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
  }
  bool stdin_open = true;
  char buf[8192];
  while (true) {
    struct pollfd fds[2] = {{master, POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break;
      if (!write_all(STDOUT_FILENO, std::string_view(buf, static_cast<size_t>(n)))) break;
    }
    if (fds[1].revents) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        stdin_open = false;
        char eot = 4;  // ^D: the pty's EOF
        (void)!write(master, &eot, 1);
      } else if (!write_all(master, std::string_view(buf, static_cast<size_t>(n)))) {
        break;
      }
    }
  }
  if (raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}

}  // namespace skiff::runtime::linux
