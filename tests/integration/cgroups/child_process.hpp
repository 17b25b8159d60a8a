#pragma once
// A forked child for cgroup tests: it waits at a gate until the parent has moved it into the
// cgroup, then runs its body; killed and reaped on destruction.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>

namespace skiff::runtime::cgroups::testing {

class ChildProcess {
 public:
  // `body` runs in the child after start(); its return value is the exit code. It may write to
  // the pipe whose read end is output_fd().
  explicit ChildProcess(std::function<int(int out_fd)> body) {
    int go[2], out[2];
    if (::pipe2(go, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(go[1]);
      ::close(out[0]);
      char c;
      if (::read(go[0], &c, 1) != 1) ::_exit(100);
      ::_exit(body(out[1]));
    }
    ::close(go[0]);
    ::close(out[1]);
    go_ = go[1];
    out_ = out[0];
    ::fcntl(out_, F_SETFL, O_NONBLOCK);
  }
  ~ChildProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (go_ >= 0) ::close(go_);
    if (out_ >= 0) ::close(out_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  void start() {
    (void)!::write(go_, "g", 1);
    ::close(go_);
    go_ = -1;
  }
  // Bytes the child wrote within `ms` milliseconds (reads until the window closes).
  size_t read_for(int ms) {
    size_t total = 0;
    auto deadline = now_ms() + ms;
    while (true) {
      long left = deadline - now_ms();
      if (left <= 0) break;
      struct pollfd p = {out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n > 0) total += static_cast<size_t>(n);
      if (n == 0) break;
    }
    return total;
  }
  // Discards what the child wrote so far.
  void drain() {
    while (read_nonblock() > 0) {
    }
  }
  // The wait status.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }
  void kill() { ::kill(pid_, SIGKILL); }

 private:
  static long now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  }
  ssize_t read_nonblock() {
    char buf[4096];
    return ::read(out_, buf, sizeof buf);
  }

  pid_t pid_ = -1;
  int go_ = -1, out_ = -1;
  bool reaped_ = false;
};

// A body that writes one byte every 5 ms forever: progress that freezing must stop.
inline int ticker(int out_fd) {
  while (true) {
    if (::write(out_fd, "x", 1) < 0 && errno != EAGAIN) return 1;
    ::usleep(5000);
  }
}

// A body that checks device access: /dev/null may be opened read-write, /dev/zero not at all
// (EPERM). Exit 0 when both hold; 1 or 2 say which did not.
inline int device_probe(int) {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return 1;
  ::close(null_fd);
  int zero_fd = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  if (zero_fd >= 0 || errno != EPERM) return 2;
  return 0;
}

}  // namespace skiff::runtime::cgroups::testing
