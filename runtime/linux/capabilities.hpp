#pragma once
// Capabilities with libcap, and the identity switch (groups, gid, uid) around them, in the order
// runc and crun use: bounding set first, keep caps across setuid, then the other four sets.

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::runtime::linux {

// Child side, the last identity step before seccomp and execve: drops the bounding set to
// capabilities.bounding, sets additional gids (setgroups; skipped where setgroups is denied in a
// user namespace), setresgid/setresuid to user.gid/uid keeping capabilities across the switch, then
// sets effective/permitted/inheritable exactly as given and raises the ambient set. A missing
// capabilities object means no capabilities at all. Inheritable is only ever what the spec names
// (CVE-2022-29162: exec'd processes must not inherit capabilities they were not given).
Result<void> apply_identity(const oci::Process& process, bool setgroups_allowed);

// Parses "CAP_NET_ADMIN" (or "net_admin") to its number; error for unknown names.
Result<int> capability_from_name(std::string_view name);

}  // namespace skiff::runtime::linux
