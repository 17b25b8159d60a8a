#pragma once
// The pod-level cgroup, as the kubelet's cgroupfs driver lays it out:
//   <cgroup parent>/pod<uid>              Guaranteed
//   <cgroup parent>/burstable/pod<uid>    Burstable
//   <cgroup parent>/besteffort/pod<uid>   BestEffort
// with the pause and every container beneath it (<pod cgroup>/pause, <pod cgroup>/<name>-<n>).
// Its limits are the pod's (Kubernetes' PodRequests/PodLimits): the sum of the containers' and
// native sidecars', or the largest init container's (plus the sidecars started before it) when
// that is more; CPU shares from the requests (2 for BestEffort), CFS quota and memory limit only
// when every container declares that limit; pids from the node's podPidsLimit. Created and
// removed through the runtime's cgroup managers, so cgroup v1, hybrid and v2 hosts all work.

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/pod/pod.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::kubelet {

// Guaranteed: every container has CPU and memory limits, and requests equal to them (or unset);
// BestEffort: no container asks for anything; Burstable: the rest.
std::string pod_qos_class(const Pod& pod);

// The pod's effective requests and limits (CPU millicores, memory bytes); a limit is unset when
// some container does not declare it.
Resources pod_resources(const Pod& pod);

// The pod cgroup's resources (pure: unit-tested).
oci::Resources pod_cgroup_resources(const Pod& pod, int64_t pids_limit);

// "<parent>[/burstable|/besteffort]/pod<uid>".
std::string pod_cgroup_path(const NodeConfig& c, const Pod& pod);

// Creates the pod cgroup with its limits; on error nothing of it is left. Returns its path.
Result<std::string> create_pod_cgroup(const NodeConfig& c, const Pod& pod);
// Removes the pod cgroup (its children must be gone); the QoS parents stay, as the kubelet's.
Result<void> destroy_pod_cgroup(const NodeConfig& c, const std::string& path);

}  // namespace skiff::kubelet
