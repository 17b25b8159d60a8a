#pragma once
// Pod volumes on the node, under <pod dir>/volumes/<name>: emptyDir (a directory, or with medium
// Memory a tmpfs of sizeLimit), configMap and secret (the kubelet's atomic layout: the files in
// ..<time>/, a ..data symlink to it, one symlink per key through ..data), and hostPath (the
// host's path after its type check, nothing under the pod). Containers bind-mount them.

#include <string>

#include "common/error.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

// The host path a volume is mounted from.
std::string volume_source(const Volume& v, const std::string& pod_dir);
// Makes every volume; on error what was made is removed again.
Result<void> prepare_volumes(const Manifest& m, const std::string& pod_dir);
// Unmounts tmpfs volumes and removes <pod dir>/volumes (hostPath sources are never touched).
Result<void> cleanup_volumes(const std::string& pod_dir);

}  // namespace skiff::kubelet
