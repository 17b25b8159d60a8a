#pragma once
// The cgroup v2 manager: one directory in the unified hierarchy (Documentation/admin-guide/
// cgroup-v2.rst; runc's fs2, crun's cgroup v2 paths). Every path hangs off Options.root, so
// unit tests drive it against a fake tree.

#include <optional>
#include <string>
#include <vector>

#include "runtime/cgroups/manager.hpp"

namespace skiff::runtime::cgroups {

class V2Manager : public Manager {
 public:
  // `root` is the cgroup2 mount; `relative` is "/skiff/c1"; `created` restores what create()
  // made (load_manager).
  V2Manager(std::string root, std::string relative, std::vector<std::string> created = {});

  Mode mode() const override { return Mode::kV2; }
  Result<void> create() override;
  Result<void> apply(const oci::Resources& resources) override;
  Result<void> add_process(pid_t pid) override;
  Result<SelfJoin> open_self_join() override;
  Result<void> freeze() override;
  Result<void> thaw() override;
  Result<bool> is_frozen() override;
  Result<std::vector<pid_t>> pids() override;
  Result<Stats> stats() override;
  Result<uint64_t> oom_kill_count() override;
  Result<void> destroy() override;
  std::vector<MountPoint> mount_points() const override;
  Json to_json() const override;

  static Result<std::unique_ptr<Manager>> from_json(const Json& saved);

 private:
  Result<void> set_frozen(bool frozen);

  std::string root_, relative_, dir_;
  std::vector<std::string> created_;
};

// Controllers skiff turns on for containers when the parent offers them.
const std::vector<std::string>& v2_wanted_controllers();

// Writes "+cpu +memory …" into cgroup.subtree_control of `root` and of every level of
// `relative` above the leaf, for the wanted controllers each level lists in cgroup.controllers.
// One the kernel refuses at a level is left out (logged) unless all of them are refused.
Result<void> enable_v2_controllers(const std::string& root, const std::string& relative);

// cpu.shares (2..262144) → cpu.weight (1..10000): 1 + ((shares - 2) * 9999) / 262142.
uint64_t cpu_shares_to_weight(uint64_t shares);
// blkio weight (10..1000) → io.weight (1..10000): 1 + ((weight - 10) * 9999) / 990.
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// memory.swap.max for OCI memory.limit/memory.swap: OCI swap is memory+swap, v2's is swap
// alone, so it is swap - limit; -1 is "max"; an unlimited limit without a swap value makes
// swap unlimited too; nullopt = leave the file alone. Errors name the fields.
Result<std::optional<std::string>> v2_swap_max(std::optional<int64_t> limit,
                                               std::optional<int64_t> swap);

// Writes linux.resources into the container's v2 directory (v2_resources.cpp), the unified map
// last and verbatim; the device rules become an eBPF program attached to the directory.
Result<void> apply_v2_resources(const std::string& dir, const oci::Resources& resources);

// `events --stats` from cpu.stat, memory.*, pids.* (v2_stats.cpp).
Result<Stats> read_v2_stats(const std::string& dir);
// "oom_kill N" of memory.events.
Result<uint64_t> read_v2_oom_kills(const std::string& dir);

}  // namespace skiff::runtime::cgroups
