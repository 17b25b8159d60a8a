#pragma once
// Finding the host's cgroup hierarchies in /proc/self/mountinfo (proc(5)), without assuming a
// layout: hosts mount "cpu,cpuacct" together or apart, some have net_cls,net_prio, rdma, misc.

#include <string>
#include <string_view>
#include <vector>

#include "runtime/cgroups/manager.hpp"

namespace skiff::runtime::cgroups {

// Controllers skiff puts a container into on cgroup v1 (runc's list plus misc).
const std::vector<std::string>& v1_known_controllers();

// The cgroup and cgroup2 mounts of a mountinfo text whose mount point is below `root`, one per
// hierarchy (a hierarchy bind-mounted twice is listed once). Controllers keep the kernel's
// order; mount options that are not controllers (rw, noprefix, clone_children, …) are dropped.
std::vector<Hierarchy> parse_cgroup_mounts(std::string_view mountinfo, const std::string& root);

// parse_cgroup_mounts() of /proc/self/mountinfo.
Result<std::vector<Hierarchy>> discover_hierarchies(const std::string& root);

// Whether skiff makes a directory for the container in this hierarchy: the v1 controllers it
// knows, name=systemd (containers expect /sys/fs/cgroup/systemd) and a hybrid host's cgroup2.
bool used_for_containers(const Hierarchy& h);

}  // namespace skiff::runtime::cgroups
