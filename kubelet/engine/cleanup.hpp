#pragma once
// Removing what a pod left behind when its shim is gone without finishing (killed, crashed):
// the runtime's containers of the pod, their bundles, the sandbox (CNI DEL, pause container).

#include "common/error.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/engine/sandbox.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

// Best effort: every step is tried; the first error is returned.
Result<void> cleanup_pod_leftovers(const NodeConfig& c, const Pod& pod, const Sandbox& sandbox);

}  // namespace skiff::kubelet
