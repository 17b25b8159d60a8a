#pragma once
// A pod's sandbox: the pause container (skiff-pause through the runtime library) holding the net,
// ipc and uts namespaces with hostname = pod name, its loopback up, and the pod network attached
// with CNI ADD (none with hostNetwork). Containers join it through /proc/<pause pid>/ns/*.
// Teardown runs CNI DEL while the netns still exists, then removes the pause container.

#include <sys/types.h>

#include <string>

#include "common/error.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

struct Sandbox {
  std::string pause_id;  // the runtime's container id
  pid_t pause_pid = 0;
  std::string bundle;   // <pod dir>/sandbox
  std::string network;  // CNI network name ("" when none is attached)
  std::string pod_ip;
  std::string hostname;
  bool host_network = false;
  std::string cgroup;  // the pod cgroup (kubelet/engine/pod_cgroup.hpp); containers go beneath
  std::string qos_class;

  std::string ns_path(const char* ns) const { return cat("/proc/", pause_pid, "/ns/", ns); }
  Json to_json() const;
  static Sandbox from_json(const Json& j);
};

// Creates the sandbox of `pod` — the pod cgroup, then the pause in it (its bundle in
// c.sandbox_bundle); on any error everything made so far is undone.
Result<Sandbox> create_sandbox(const NodeConfig& c, const Pod& pod);
// Detaches the network, removes the pause container and the pod cgroup; every step is tried, the
// first error is returned. The pause process is reaped by whoever is its parent (it is killed
// here).
Result<void> destroy_sandbox(const NodeConfig& c, const Pod& pod, const Sandbox& s);

// The CNI network the node uses (written with default_conflist when the directory has none).
Result<Json> load_or_write_network(const NodeConfig& c);

}  // namespace skiff::kubelet
