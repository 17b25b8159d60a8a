#pragma once
// Where a node keeps its pods (every root configurable, so tests use temporary ones) and how the
// engine finds the pieces it runs: the pause binary, the CNI network and plugins.
//
//   <state_root>/<uid>/        pod.json (the manifest), status.json (checkpoint), shim.log, etc/
//   <run_root>/pods/<uid>/     shim.sock (the shim's API), fds.sock (its fd store), sandbox/ (the
//                              pause bundle), containers/<name>-<n>/ (bundles): remade at every
//                              start, so kept where containerd keeps its bundles (/run, a tmpfs)
//   <run_root>/runtime/        the runtime's container state (skiff's --root)
//   <log_root>/<ns>_<name>_<uid>/<container>/<restart>.log   CRI-format logs

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "kubelet/pod/backoff.hpp"

namespace skiff::kubelet {

struct NodeConfig {
  std::string state_root = "/var/lib/skiff/pods";
  std::string run_root = "/run/skiff";
  std::string log_root = "/var/log/pods";
  std::string image_root = "/var/lib/skiff/images";
  std::string snapshot_root = "/var/lib/skiff/snapshots";
  // The pod network: the first configuration in this directory; when it has none, a default
  // skiff-bridge network (kDefaultSubnet on bridge "skiff0") is written there.
  std::string cni_conf_dir = "/etc/skiff/cni/net.d";
  std::vector<std::string> cni_bin_dirs;  // empty: default_cni_plugin_dirs()
  std::string cni_cache_dir = "/var/lib/skiff/cni/results";
  std::string cni_data_dir = "/var/lib/skiff/cni/networks";  // IPAM leases of the default network
  std::string pause_binary;  // empty: skiff-pause next to this binary, then the build tree
  std::string pull_binary;   // empty: skiff-pull next to this binary, then the build tree
  // Registries (host[:port]) reached over plain HTTP; loopback ones always are.
  std::vector<std::string> insecure_registries;
  BackoffPolicy backoff;
  // Pod cgroups: <cgroup_parent>/[burstable|besteffort/]pod<uid> in every hierarchy mounted at
  // cgroup_root (kubelet/engine/pod_cgroup.hpp); pod_pids_limit > 0 caps each pod's processes.
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_parent = "/kubepods";
  int64_t pod_pids_limit = 0;
  // Container log rotation (the kubelet's containerLogMaxSize / containerLogMaxFiles): a log
  // reaching the size is renamed to <restart>.log.<UTC time> and a new one started; at most
  // `log_max_files` files per container run, the current one included.
  int64_t log_max_bytes = 10 << 20;
  int log_max_files = 5;

  std::string pod_dir(const std::string& uid) const { return cat(state_root, '/', uid); }
  std::string shim_socket(const std::string& uid) const {
    return cat(run_root, "/pods/", uid, "/shim.sock");
  }
  std::string shim_run_dir(const std::string& uid) const { return cat(run_root, "/pods/", uid); }
  std::string sandbox_bundle(const std::string& uid) const {
    return shim_run_dir(uid) + "/sandbox";
  }
  std::string container_bundles(const std::string& uid) const {
    return shim_run_dir(uid) + "/containers";
  }
  std::string runtime_root() const { return run_root + "/runtime"; }
  std::string log_dir(const std::string& ns, const std::string& name,
                      const std::string& uid) const {
    return cat(log_root, '/', ns, '_', name, '_', uid);
  }

  Json to_json() const;
  static Result<NodeConfig> from_json(const Json& j);
};

inline constexpr const char* kDefaultSubnet = "10.85.0.0/16";
inline constexpr const char* kDefaultBridge = "skiff0";
inline constexpr const char* kDefaultNetwork = "skiff";

// The conflist written when the configuration directory has none.
Json default_conflist(const NodeConfig& c);

// A sibling binary of the running one (same directory as /proc/self/exe) or of `next_to` when
// given, else the build tree's `build_path`, else "".
std::string find_helper_binary(const std::string& name, const std::string& build_path,
                               const std::string& next_to = "");

// The CNI plugin directories when none are configured, in search order, for a process running
// `self_exe`: its directory when skiff-bridge is there, <its directory>/../lib/cni (an installed
// tree: /usr/bin with /usr/lib/cni, any prefix, or an extracted package), `build_dir`/cni when
// not empty, /usr/local/lib/cni, /usr/lib/cni (Debian's containernetworking-plugins),
// /opt/cni/bin. No duplicates.
std::vector<std::string> default_cni_plugin_dirs(const std::string& self_exe,
                                                 const std::string& build_dir);

// The running binary's path (/proc/self/exe), "" when unreadable. Resolve paths from it before a
// sealed re-exec (runtime/linux/self_exe.hpp): after it, the link no longer names the real file.
std::string self_exe_path();

}  // namespace skiff::kubelet
