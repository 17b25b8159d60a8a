#include "kubelet/engine/cleanup.hpp"

#include <dirent.h>

#include "common/fs.hpp"
#include "kubelet/engine/container_bundle.hpp"
#include "kubelet/engine/volumes.hpp"
#include "runtime/container.hpp"

namespace skiff::kubelet {

Result<void> cleanup_pod_leftovers(const NodeConfig& c, const Pod& pod, const Sandbox& sandbox) {
  std::optional<Error> first;
  auto note = [&](Result<void> r) {
    if (!r && !first) first = std::move(r.error());
  };
  runtime::GlobalOptions g;
  g.root = c.runtime_root();
  std::string prefix = cat("pod-", pod.uid, '-');
  if (auto list = runtime::list(g)) {
    for (const auto& info : *list)
      if (info.id.starts_with(prefix) && info.id != sandbox.pause_id)
        note(runtime::remove(g, info.id, true));
  }
  // The bundles, and where older shims made them (in the pod directory).
  for (const auto& containers : {c.container_bundles(pod.uid), c.pod_dir(pod.uid) + "/containers"})
    if (DIR* d = opendir(containers.c_str())) {
      std::vector<std::string> dirs;
      while (struct dirent* e = readdir(d))
        if (e->d_name[0] != '.') dirs.push_back(cat(containers, '/', e->d_name));
      closedir(d);
      for (const auto& dir : dirs) note(remove_container_bundle(c, dir));
    }
  if (!sandbox.pause_id.empty() || sandbox.pause_pid > 0 || !sandbox.cgroup.empty())
    note(destroy_sandbox(c, pod, sandbox));
  note(cleanup_volumes(c.pod_dir(pod.uid)));
  if (first) return std::move(*first);
  return ok();
}

}  // namespace skiff::kubelet
