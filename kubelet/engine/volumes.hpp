#pragma once
// Pod volumes on the node, under <pod dir>/volumes/<name>: emptyDir (a directory, or with medium
// Memory a tmpfs of sizeLimit), configMap and secret (the kubelet's atomic layout: the files in
// ..<time>/, a ..data symlink to it, one symlink per key through ..data; a secret's on a tmpfs,
// so it never reaches the disk), and hostPath (the host's path after its type check, nothing
// under the pod). Containers bind-mount them (configMap and secret read-only). The kubelet
// rewrites configMap and secret volumes when their object changes (refresh_key_volume): the
// ..data swap makes the change appear at once in the running containers.

#include <string>
#include <vector>

#include "common/error.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

// One file of a configMap/secret volume: `path` relative to the volume, its bytes and mode.
struct KeyFile {
  std::string path;
  std::string content;
  int mode = 0644;
  bool operator==(const KeyFile&) const = default;
};

// The files a configMap/secret volume shows for `obj` (nullptr: not there), as the kubelet
// projects them: every key as a file of its name with defaultMode, or only `items` (key → path,
// mode or defaultMode). A missing object or item key is an error naming it unless the volume is
// optional (then the volume is empty / the item left out).
Result<std::vector<KeyFile>> project_keys(const Volume& v, const KeyValueObject* obj);

// Writes `files` into `dir` as the kubelet's atomic writer does: the files in a fresh
// ..<timestamp>/ directory, the ..data symlink to it swapped by rename(2), one top-level symlink
// per first path component through ..data, then the old payload and stale links removed. A
// reader sees either the old or the new set, never a mix. Returns false when `dir` already holds
// exactly these files (nothing is written).
Result<bool> write_key_files(const std::string& dir, const std::vector<KeyFile>& files);

// The volume `v` of the pod in `pod_dir` brought up to date with `obj`; false when unchanged.
Result<bool> refresh_key_volume(const Volume& v, const KeyValueObject* obj,
                                const std::string& pod_dir);

// The host path a volume is mounted from.
std::string volume_source(const Volume& v, const std::string& pod_dir);
// Makes every volume; on error what was made is removed again.
Result<void> prepare_volumes(const Manifest& m, const std::string& pod_dir);
// Unmounts tmpfs volumes and removes <pod dir>/volumes (hostPath sources are never touched).
Result<void> cleanup_volumes(const std::string& pod_dir);

}  // namespace skiff::kubelet
