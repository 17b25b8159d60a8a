#pragma once
// The container's root filesystem, child side (inside the new mount namespace): propagation,
// the spec's mounts, /dev, pivot_root, then masked and read-only paths. Every target is resolved
// inside the rootfs with openat2(RESOLVE_IN_ROOT) and mounted through /proc/self/fd/N, so a
// symlink in the image cannot redirect a mount onto the host (CVE-2021-30465).

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroups/manager.hpp"

namespace skiff::runtime::linux {

struct MountOptions {
  unsigned long flags = 0;        // MS_* to set
  unsigned long clear = 0;        // MS_* explicitly cleared ("rw", "suid", …)
  unsigned long propagation = 0;  // MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (+MS_REC)
  bool bind = false;
  bool recursive = false;  // rbind
  uint64_t attr_set = 0;   // mount_setattr(AT_RECURSIVE) for "rro", "rnosuid", …
  uint64_t attr_clr = 0;
  bool tmpcopyup = false;
  std::string data;  // everything else, for the filesystem
};

// Splits OCI mount options into flags, propagation, recursive attributes and fs data.
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options);

struct RootfsConfig {
  const oci::Spec* spec = nullptr;
  std::string rootfs;  // absolute
  bool new_userns = false;
  bool new_netns = false;
  bool new_cgroupns = false;
  bool no_pivot = false;
  std::vector<cgroups::MountPoint> cgroup_mounts;
};

// Before hooks: propagation, rootfs bind, spec.mounts, devices and /dev links.
Result<void> prepare_rootfs(const RootfsConfig& config);
// pivot_root into the rootfs (or MS_MOVE + chroot with no_pivot); the old root is detached.
Result<void> enter_rootfs(const RootfsConfig& config);
// After pivot and sysctls: maskedPaths, readonlyPaths, root.readonly.
Result<void> finalize_rootfs(const RootfsConfig& config);

// The devices every container gets (null zero full random urandom tty).
const std::vector<oci::Device>& default_devices();

}  // namespace skiff::runtime::linux
