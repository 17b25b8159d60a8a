#include "cni/exec.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include "common/log.hpp"
#include "common/subprocess.hpp"

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
  SubprocessOptions o;
  o.path = path;
  o.env = plugin_environment(env);
  o.stdin_data = std::string(stdin_data);
  o.timeout = options.timeout;
  o.capture_stderr = false;  // the result or error object is stdout; stderr stays the caller's
  o.new_process_group = options.new_process_group;
  auto r = run_subprocess(o);
  if (!r) return CniError::from(r.error().wrap(cat("plugin ", quote(path), " ", env.command)));
  if (r->timed_out)
    return cni_error(kErrInternal, "plugin ", quote(path), " ", env.command, " timed out after ",
                     options.timeout->count(), " ms and was killed");
  if (r->exited_ok()) return std::move(r->output);
  auto e = CniError::from_output(r->output);
  if (WIFSIGNALED(r->status) && r->output.empty())
    e = cni_error(kErrInternal, "plugin ", quote(path), " killed by signal ", WTERMSIG(r->status));
  log::debug("plugin ", quote(path), " ", env.command, " failed: ", e.what());
  return e;
}

}  // namespace skiff::cni
