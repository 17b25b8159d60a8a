#include "common/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.hpp"

extern char** environ;

namespace skiff {

bool SubprocessResult::exited_ok() const {
  return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string SubprocessResult::describe() const {
  if (timed_out) return "timed out";
  if (WIFEXITED(status)) return cat("exit status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return cat("killed by signal ", WTERMSIG(status));
  return cat("wait status ", status);
}

Result<SubprocessResult> run_subprocess(const SubprocessOptions& o) {
  if (o.argv.empty() && o.path.empty()) return error("run: no program given");
  std::string path = o.path.empty() ? o.argv[0] : o.path;
  std::vector<std::string> argv_s = o.argv.empty() ? std::vector<std::string>{path} : o.argv;
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (o.env) {
    for (auto& e : *o.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }

  int in[2], out[2] = {-1, -1}, err_pipe[2];
  if (pipe2(in, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  UniqueFd out_r, out_w;
  if (o.capture_output) {
    if (pipe2(out, O_CLOEXEC) < 0) return errno_error("pipe");
    out_r.reset(out[0]);
    out_w.reset(out[1]);
  }
  if (pipe2(err_pipe, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd exec_err_r(err_pipe[0]), exec_err_w(err_pipe[1]);

  pid_t pid = fork();
  if (pid < 0) return errno_error("fork ", quote(path));
  if (pid == 0) {
    if (o.new_process_group) setpgid(0, 0);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    signal(SIGPIPE, SIG_DFL);  // an ignored signal would stay ignored across execve
    dup2(in_r.get(), 0);
    if (o.capture_output) {
      dup2(out_w.get(), 1);
      if (o.capture_stderr) dup2(out_w.get(), 2);
    }
    execve(path.c_str(), argv.data(), o.env ? envp.data() : environ);
    int e = errno;
    (void)!::write(exec_err_w.get(), &e, sizeof e);
    _exit(127);
  }
  in_r.reset();
  out_w.reset();
  exec_err_w.reset();

  int exec_errno = 0;
  if (::read(exec_err_r.get(), &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
    waitpid(pid, nullptr, 0);
    errno = exec_errno;
    return errno_error("exec ", quote(path));
  }

  // Feed stdin (ignore EPIPE: the program may not read it), collect output, honour the timeout.
  // A program that does not read its stdin must not kill us with SIGPIPE; restore the old
  // disposition after, since an ignored signal would be inherited across a later execve.
  struct sigaction ignore {
  }, saved_pipe{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &saved_pipe);
  struct RestorePipe {
    struct sigaction* saved;
    ~RestorePipe() { sigaction(SIGPIPE, saved, nullptr); }
  } restore_pipe{&saved_pipe};
  SubprocessResult result;
  size_t in_off = 0;
  if (o.stdin_data.empty()) in_w.reset();
  auto deadline = o.timeout ? std::chrono::steady_clock::now() + *o.timeout
                            : std::chrono::steady_clock::time_point::max();
  while (in_w || out_r) {
    struct pollfd fds[2];
    int n = 0;
    if (in_w) fds[n++] = {in_w.get(), POLLOUT, 0};
    if (out_r) fds[n++] = {out_r.get(), POLLIN, 0};
    int wait_ms = -1;
    if (o.timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      wait_ms = left.count() < 0 ? 0 : static_cast<int>(left.count());
    }
    int r = poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      result.timed_out = true;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (in_w && fds[i].fd == in_w.get()) {
        ssize_t w = ::write(in_w.get(), o.stdin_data.data() + in_off, o.stdin_data.size() - in_off);
        if (w < 0)
          in_w.reset();
        else if ((in_off += static_cast<size_t>(w)) >= o.stdin_data.size())
          in_w.reset();
      } else if (out_r && fds[i].fd == out_r.get()) {
        char buf[4096];
        ssize_t rd = ::read(out_r.get(), buf, sizeof buf);
        if (rd <= 0)
          out_r.reset();
        else
          result.output.append(buf, static_cast<size_t>(rd));
      }
    }
  }
  if (!result.timed_out && o.timeout) {
    // Output closed; still bound the wait for the exit by the deadline.
    while (true) {
      pid_t w = waitpid(pid, &result.status, WNOHANG);
      if (w == pid) return result;
      if (std::chrono::steady_clock::now() >= deadline) {
        result.timed_out = true;
        break;
      }
      usleep(1000);
    }
  }
  if (result.timed_out) {
    if (o.new_process_group) kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  while (waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

}  // namespace skiff
