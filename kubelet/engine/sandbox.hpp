#pragma once
// A pod's sandbox: the pause (skiff-pause, PID 1 of the pod's PID namespace, in the pod cgroup's
// `pause` leaf, in an empty read-only root with no capability) holding the net, ipc and uts
// namespaces with hostname = pod name, its loopback up, and the pod network attached with CNI ADD
// (none with hostNetwork). Containers join it through /proc/<pause pid>/ns/*. Teardown runs CNI
// DEL while the netns still exists, then kills the pause. The pause is spawned directly (no
// runtime container: it needs no bundle, state or OCI spec); sandboxes made by older shims, whose
// pause is a runtime container (`pause_id`), are still torn down as such.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

struct Sandbox {
  std::string pause_id;  // older shims: the pause's runtime container id ("" now)
  pid_t pause_pid = 0;
  uint64_t pause_start = 0;  // its start time (/proc/PID/stat): a reused pid is not killed
  std::string bundle;        // older shims: the pause's bundle
  std::string network;       // CNI network name ("" when none is attached)
  std::string pod_ip;
  std::string hostname;
  bool host_network = false;
  std::string cgroup;  // the pod cgroup (kubelet/engine/pod_cgroup.hpp); containers go beneath
  std::string qos_class;

  std::string ns_path(const char* ns) const { return cat("/proc/", pause_pid, "/ns/", ns); }
  // The pause still runs under its pid (its start time, when recorded, tells a reused pid apart).
  bool pause_running() const;
  Json to_json() const;
  static Sandbox from_json(const Json& j);
};

// Creates the sandbox of `pod` — the pod cgroup, then the pause in it (serving `fd_store`, a
// listening socket, as the pod's fd store; -1 for none); on any error everything made so far is
// undone.
Result<Sandbox> create_sandbox(const NodeConfig& c, const Pod& pod, int fd_store = -1);
// Detaches the network, kills the pause (an older shim's: removes its runtime container) and
// removes its cgroup and the pod cgroup; every step is tried, the first error is returned. The
// pause process is reaped by whoever is its parent.
Result<void> destroy_sandbox(const NodeConfig& c, const Pod& pod, const Sandbox& s);

// The sandbox of a pod whose shim died before its first checkpoint named it: the pause from the
// file create_sandbox writes beside the shim ("PID START"), the pod cgroup, and the network when
// the pod has one (whether CNI ADD ran is not known: DEL is safe for what was not added).
// nullopt without that file (an older shim's pod: its pause was a runtime container).
std::optional<Sandbox> sandbox_of_pause_file(const NodeConfig& c, const Pod& pod);

// The CNI network the node uses (written with default_conflist when the directory has none).
Result<Json> load_or_write_network(const NodeConfig& c);

}  // namespace skiff::kubelet
