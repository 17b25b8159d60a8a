#pragma once
// cgroup v2 has no devices controller: device access is decided by an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup (what crun's ebpf.c and runc's
// devicefilter do). The program is generated here from the rules and loaded with raw bpf(2)
// calls — no libbpf.

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/cgroups/device_rules.hpp"

namespace skiff::runtime::cgroups {

// The program for `rules`, mirroring device_access_allowed(): it loads type, access, major and
// minor from bpf_cgroup_dev_ctx into r2..r5, then tests the rules from the last to the first,
// one block each, returning 1 (allow) or 0 (deny) from the first block that matches; a final
// "return 0" denies what no rule matched. A rule that matches everything ends the program.
std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& rules);

// BPF_PROG_LOAD of a cgroup device program. On failure the error carries the verifier's log.
Result<UniqueFd> load_device_program(const std::vector<bpf_insn>& program);

// Ids of the device programs attached directly to the cgroup (BPF_PROG_QUERY).
Result<std::vector<uint32_t>> attached_device_programs(int cgroup_fd);

// Attaches the program to the cgroup (BPF_F_ALLOW_MULTI), then detaches the device programs
// that were there before: the cgroup is never left without a filter during an update.
Result<void> replace_device_program(int cgroup_fd, int prog_fd);

}  // namespace skiff::runtime::cgroups
