#pragma once
// CVE-2019-5736: a process in the container must never be able to reach the host's skiff binary
// through /proc/<pid>/exe and overwrite it. Before a verb creates processes that enter a
// container, skiff re-execs itself from a read-only view of its binary: a detached, read-only
// overlayfs mount of the binary's directory (runc 1.2's answer: no copy, page cache shared), or,
// where overlayfs cannot be used, a sealed memfd copy (runc 1.0 / crun).

#include "common/error.hpp"

namespace skiff::runtime::linux {

// True when /proc/self/exe is already a read-only overlay file or a write-sealed memfd.
bool self_exe_is_sealed();
// Re-execs the current process (same argv and environment) through a sealed view of the binary.
// Returns only on error; a no-op (returns ok) when already sealed.
Result<void> reexec_sealed(char** argv);

}  // namespace skiff::runtime::linux
