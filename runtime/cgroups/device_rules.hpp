#pragma once
// linux.resources.devices: checking the rules, the decision they make for one access, and the
// cgroup v1 devices.allow / devices.deny lines that express them.

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::runtime::cgroups {

// Access bits, encoded as the kernel's BPF_DEVCG_ACC_* (bpf_cgroup_dev_ctx.access_type >> 16).
inline constexpr uint32_t kAccessMknod = 1, kAccessRead = 2, kAccessWrite = 4;
inline constexpr uint32_t kAccessAll = kAccessMknod | kAccessRead | kAccessWrite;

// A rule after checking: type 'a' (any), 'b' or 'c'; -1 is the wildcard; access as bits.
struct DeviceRule {
  bool allow = false;
  char type = 'a';
  int64_t major = -1, minor = -1;
  uint32_t access = kAccessAll;
  bool operator==(const DeviceRule&) const = default;
};

// Checks and normalises the OCI rules: type a/b/c, access made of r/w/m (empty = "rwm"),
// numbers in range (negative = wildcard). Errors name linux.resources.devices[i].
Result<std::vector<DeviceRule>> normalize_device_rules(
    const std::vector<oci::DeviceCgroupRule>& rules);

// The decision of a rule list for one access — what the cgroup v2 eBPF program computes. The
// last matching rule decides; when none matches the access is denied. An allow rule matches
// when it grants every requested bit; a deny rule matches when it forbids any of them (so
// "allow a *:* rwm" then "deny c 1:3 w" still lets /dev/null be opened read-only).
bool device_access_allowed(const std::vector<DeviceRule>& rules, char type, uint32_t major,
                           uint32_t minor, uint32_t access);

// "rwm" for kAccessAll, in that order.
std::string access_string(uint32_t access);

// The line(s) to write for a rule to devices.allow (allow) or devices.deny: "c 1:3 rwm",
// "b 8:* r", or "a" for the all-devices wildcard. The kernel reads any line starting with 'a'
// as "every device, every access", so a type-'a' rule that is narrower becomes a 'c' and a 'b'
// line.
std::vector<std::string> v1_device_lines(const DeviceRule& rule);

}  // namespace skiff::runtime::cgroups
