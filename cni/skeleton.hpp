#pragma once
// The plugin side of CNI: read CNI_COMMAND & co. from the environment and the network
// configuration from stdin, check the version, dispatch to the plugin, and print the result (in the
// caller's cniVersion) or the spec's error object on stdout with a non-zero exit. Our plugins'
// main() is one call to plugin_main(); run_plugin() is the same with the environment, stdin and
// stdout handed in, so tests drive it without a process.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cni/errors.hpp"
#include "cni/types.hpp"

namespace skiff::cni {

// One invocation, as the spec's "parameters" section lists them.
struct CmdArgs {
  std::string command;            // ADD, DEL, CHECK, STATUS, GC, VERSION
  std::string container_id;       // CNI_CONTAINERID
  std::string netns;              // CNI_NETNS: a path such as /run/netns/x (may be empty for DEL)
  std::string ifname;             // CNI_IFNAME
  std::string args;               // CNI_ARGS, raw
  std::vector<std::string> path;  // CNI_PATH, split on ':'
  std::string stdin_data;  // the configuration bytes as received (delegated to IPAM verbatim)
  NetworkConfig config;    // parsed and version-checked
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual CniResult<NetworkResult> add(const CmdArgs& args) = 0;
  // Must succeed when everything is already gone (the spec's DEL idempotence).
  virtual CniResult<void> del(const CmdArgs& args) = 0;
  virtual CniResult<void> check(const CmdArgs& args) = 0;
  // Readiness to serve ADD (1.1.0); error 50/51 when not.
  virtual CniResult<void> status(const CmdArgs& args) { return {}; }
  // Releases resources of attachments not in "cni.dev/valid-attachments" (1.1.0).
  virtual CniResult<void> gc(const CmdArgs& args) { return {}; }
};

struct PluginIo {
  std::map<std::string, std::string> env;
  std::string stdin_data;
  std::string out;  // what goes to stdout
};

// Runs one command; returns the process exit code (0 or 1) and fills io.out.
int run_plugin(Plugin& plugin, std::string_view about, PluginIo& io);
// run_plugin with the process's environment, stdin and stdout.
int plugin_main(Plugin& plugin, std::string_view about);

// The (containerID, ifname) pairs in a GC request's "cni.dev/valid-attachments".
struct AttachmentKey {
  std::string container_id;
  std::string ifname;
  auto operator<=>(const AttachmentKey&) const = default;
};
CniResult<std::vector<AttachmentKey>> valid_attachments(const Json& config);

}  // namespace skiff::cni
