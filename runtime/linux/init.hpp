#pragma once
// The container's init, child side of clone(): reads like a checklist (nsjail contain.cc) —
// namespaces, rootfs, hooks, pivot, sysctl, masks, console, process, wait for start, exec.

#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/linux/rootfs.hpp"
#include "runtime/linux/seccomp.hpp"
#include "runtime/linux/sync.hpp"

namespace skiff::runtime::linux {

struct InitArgs {
  const oci::Spec* spec = nullptr;
  RootfsConfig rootfs;
  SyncChannel* sync = nullptr;
  int fifo_fd = -1;     // wait for `start` on the exec fifo; -1: wait for kStart on `sync`
  int console_fd = -1;  // --console-socket connection when process.terminal
  int preserve_fds = 0;
  std::vector<std::pair<int, int>> join;  // (CLONE_NEW*, fd) to setns, user first
  int unshare_flags = 0;                  // namespaces to unshare after the joins
  bool new_userns = false;
  bool new_cgroupns = false;  // unshared once the parent has moved us into the cgroup
  // v1 `tasks` files the init writes "0" to first (cgroups::SelfJoin); may be null.
  std::vector<UniqueFd>* cgroup_tasks = nullptr;
  bool cgroup_joined = false;  // true once in the cgroup: placed by clone3, or kCgroupJoined came
  bool setgroups_allowed = true;
  bool run_create_runtime_hooks = false;  // ask the parent to run prestart + createRuntime
  bool no_new_keyring = false;
  const SeccompProgram* seccomp = nullptr;
};

// Never returns: execs the user process or reports an error on the sync channel and exits.
[[noreturn]] void container_init(InitArgs& args);

}  // namespace skiff::runtime::linux
