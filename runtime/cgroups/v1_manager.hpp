#pragma once
// The cgroup v1 manager (also used on hybrid hosts): one directory per hierarchy — runc's fs
// driver, crun's cgroup v1 paths.

#include <map>
#include <string>
#include <vector>

#include "runtime/cgroups/manager.hpp"

namespace skiff::runtime::cgroups {

// The container's directory in each hierarchy, by controller ("cpu", "memory", "name=systemd").
using V1Dirs = std::map<std::string, std::string, std::less<>>;

class V1Manager : public Manager {
 public:
  // `hierarchies` are filtered to those used_for_containers(); `relative` is "/skiff/c1";
  // `created` restores what create() made (load_manager).
  V1Manager(Mode mode, std::vector<Hierarchy> hierarchies, std::string relative,
            std::vector<std::string> created = {});

  Mode mode() const override { return mode_; }
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
  std::string dir_in(const Hierarchy& h) const;
  V1Dirs dirs() const;
  Result<void> set_freezer_state(std::string_view state);

  Mode mode_;
  std::vector<Hierarchy> hierarchies_;
  std::string relative_;
  std::vector<std::string> created_;
};

// Writes linux.resources into the container's v1 directories (v1_resources.cpp). A resource
// whose controller is not mounted is an error that names both.
Result<void> apply_v1_resources(const V1Dirs& dirs, const oci::Resources& resources);

// Whether memory.memsw.limit_in_bytes must be written before memory.limit_in_bytes: the kernel
// keeps limit <= memsw at every step, so raising writes memsw first, lowering the limit first.
// (runc's setMemoryAndSwap: swap first when swap is unlimited or above the current limit.)
bool v1_swap_first(uint64_t current_limit, int64_t swap);

// Reads what `events --stats` reports from the v1 directories (v1_stats.cpp).
Result<Stats> read_v1_stats(const V1Dirs& dirs);
// "oom_kill N" of memory.oom_control.
Result<uint64_t> read_v1_oom_kills(const V1Dirs& dirs);

}  // namespace skiff::runtime::cgroups
