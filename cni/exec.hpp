#pragma once
// Executing a CNI plugin the way the spec says a runtime does: the CNI_* variables in the
// environment, the configuration on stdin, the result (or error object) on stdout. Shared by the
// invoker and by plugins that delegate (bridge -> IPAM). stderr passes through to ours.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cni/errors.hpp"

namespace skiff::cni {

struct PluginEnv {
  std::string command;
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string args;  // CNI_ARGS, formatted
  std::vector<std::string> path;
};

// The first executable `<dir>/<type>` in `dirs`; code 7 when none is (the config names a plugin
// this host does not have). `type` must be a plain file name.
CniResult<std::string> find_plugin(std::string_view type, const std::vector<std::string>& dirs);

// Our environment without any CNI_* variables, plus the ones of `env`.
std::vector<std::string> plugin_environment(const PluginEnv& env);

// How a plugin process is started.
struct ExecOptions {
  // Kill the plugin's whole process group when this expires.
  std::optional<std::chrono::milliseconds> timeout;
  // The runtime puts each plugin in a process group of its own (so a timeout takes its
  // delegates too); a delegating plugin keeps its delegate in its own group for the same reason.
  bool new_process_group = true;
};

// Runs `path` with `env` and `stdin_data`; returns its stdout. A non-zero exit becomes the CNI
// error it printed (code 999 with the raw text when it printed none).
CniResult<std::string> exec_plugin(const std::string& path, const PluginEnv& env,
                                   std::string_view stdin_data, const ExecOptions& options = {});

}  // namespace skiff::cni
