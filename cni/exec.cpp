#include "cni/exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.hpp"
#include "common/unique_fd.hpp"

extern char** environ;

namespace skiff::cni {

CniResult<std::string> find_plugin(std::string_view type, const std::vector<std::string>& dirs) {
  if (type.empty() || type.find('/') != std::string_view::npos || type == "." || type == "..")
    return cni_error(kErrInvalidNetworkConfig, "invalid plugin type ", quote(type));
  for (const auto& dir : dirs) {
    std::string candidate = cat(dir, '/', type);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return CniError{kErrInvalidNetworkConfig, cat("plugin ", quote(type), " not found"),
                  cat("CNI_PATH: ", join(dirs, ":"))};
}

std::vector<std::string> plugin_environment(const PluginEnv& env) {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).substr(0, 4) != "CNI_") out.emplace_back(*e);
  out.push_back("CNI_COMMAND=" + env.command);
  out.push_back("CNI_CONTAINERID=" + env.container_id);
  out.push_back("CNI_NETNS=" + env.netns);
  out.push_back("CNI_IFNAME=" + env.ifname);
  out.push_back("CNI_ARGS=" + env.args);
  out.push_back("CNI_PATH=" + join(env.path, ":"));
  return out;
}

CniResult<std::string> exec_plugin(const std::string& path, const PluginEnv& env,
                                   std::string_view stdin_data, const ExecOptions& options) {
  const auto& timeout = options.timeout;
  auto env_strings = plugin_environment(env);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string argv0 = path;
  char* argv[] = {argv0.data(), nullptr};

  int in[2], out[2], status_pipe[2];
  if (pipe2(in, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (pipe2(out, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (pipe2(status_pipe, O_CLOEXEC) < 0) return errno_error("pipe");
  UniqueFd exec_err_r(status_pipe[0]), exec_err_w(status_pipe[1]);

  pid_t pid = fork();
  if (pid < 0) return errno_error("fork for plugin ", quote(path));
  if (pid == 0) {
    if (options.new_process_group) setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    dup2(in_r.get(), STDIN_FILENO);
    dup2(out_w.get(), STDOUT_FILENO);
    execve(path.c_str(), argv, envp.data());
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
    return errno_error("exec plugin ", quote(path));
  }

  // A plugin that exits without reading stdin must not kill us with SIGPIPE.
  struct sigaction ignore {
  }, saved{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &saved);
  std::string output;
  size_t in_off = 0;
  bool timed_out = false;
  if (stdin_data.empty()) in_w.reset();
  auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                          : std::chrono::steady_clock::time_point::max();
  while (out_r) {
    struct pollfd fds[2];
    nfds_t n = 0;
    fds[n++] = {out_r.get(), POLLIN, 0};
    if (in_w) fds[n++] = {in_w.get(), POLLOUT, 0};
    int wait_ms = -1;
    if (timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      wait_ms = left.count() < 0 ? 0 : static_cast<int>(left.count());
    }
    int r = poll(fds, n, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      timed_out = true;
      break;
    }
    if (fds[0].revents) {
      char buf[4096];
      ssize_t got = ::read(out_r.get(), buf, sizeof buf);
      if (got <= 0)
        out_r.reset();
      else
        output.append(buf, static_cast<size_t>(got));
    }
    if (n > 1 && fds[1].revents) {
      ssize_t w = ::write(in_w.get(), stdin_data.data() + in_off, stdin_data.size() - in_off);
      if (w < 0 || (in_off += static_cast<size_t>(w)) >= stdin_data.size()) in_w.reset();
    }
  }
  in_w.reset();
  sigaction(SIGPIPE, &saved, nullptr);
  if (timed_out) {
    if (options.new_process_group) kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return cni_error(kErrInternal, "plugin ", quote(path), " ", env.command, " timed out after ",
                     timeout->count(), " ms and was killed");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  auto e = CniError::from_output(output);
  if (WIFSIGNALED(status) && output.empty())
    e = cni_error(kErrInternal, "plugin ", quote(path), " killed by signal ", WTERMSIG(status));
  log::debug("plugin ", quote(path), " ", env.command, " failed: ", e.what());
  return e;
}

}  // namespace skiff::cni
