#include "common/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
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

  int in[2], out[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  UniqueFd out_r, out_w;
  if (o.capture_output) {
    if (pipe2(out, O_CLOEXEC) < 0) return errno_error("pipe");
    out_r.reset(out[0]);
    out_w.reset(out[1]);
  }

  // posix_spawn (a vfork-like clone), not fork: a multi-threaded caller (the kubelet, the master)
  // would pay for copying its page tables and malloc arenas and for copy-on-write faults after,
  // ~10 ms a child in the kubelet here. The child: our pipes as stdio, no blocked signal, SIGPIPE
  // at its default (an ignored signal would stay ignored across execve), its own process group.
  // Sources are first moved above 2 so that no dup2 action overwrites a later one's source.
  for (UniqueFd* f : {&in_r, &out_w})
    if (*f && f->get() <= 2) {
      UniqueFd moved(fcntl(f->get(), F_DUPFD_CLOEXEC, 3));
      if (!moved) return errno_error("fcntl F_DUPFD");
      *f = std::move(moved);
    }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  struct FreeSpawn {
    posix_spawn_file_actions_t* fa;
    posix_spawnattr_t* attr;
    ~FreeSpawn() {
      posix_spawn_file_actions_destroy(fa);
      posix_spawnattr_destroy(attr);
    }
  } free_spawn{&fa, &attr};
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  if (o.capture_output) {
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    if (o.capture_stderr) posix_spawn_file_actions_adddup2(&fa, out_w.get(), 2);
  }
  sigset_t none, pipe_only;
  sigemptyset(&none);
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe_only);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (o.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  pid_t pid = -1;
  if (int e =
          posix_spawn(&pid, path.c_str(), &fa, &attr, argv.data(), o.env ? envp.data() : environ)) {
    errno = e;
    return errno_error("exec ", quote(path));
  }
  in_r.reset();
  out_w.reset();

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
