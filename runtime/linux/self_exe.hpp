#pragma once
// CVE-2019-5736: a process in the container must never be able to reach the host's skiff binary
// through /proc/<pid>/exe and overwrite it. Before a verb creates processes that enter a
// container, skiff re-execs itself from a read-only view of its binary: a detached, read-only
// overlayfs mount of the binary's directory (runc 1.2's answer: no copy, page cache shared), or,
// where overlayfs cannot be used, a sealed memfd copy (runc 1.0 / crun).

#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace skiff::runtime::linux {

// The ways to a read-only view of the binary, best first: an overlay whose second (empty) lower
// layer is a detached tmpfs (Linux 6.15+), one whose second lower is an empty root-owned directory
// (/run/skiff-exe-lower; older kernels only take attached layers), a sealed memfd copy of the
// loaded part of the file.
enum class SealMethod { kOverlayDetached, kOverlayAttached, kMemfd };
// An O_RDONLY fd of the binary at `exe` through `method`, to execveat (the runtime passes its own
// path; "/proc/self/exe" for kMemfd, so the copy is of the running image itself).
Result<UniqueFd> seal_binary(const std::string& exe, SealMethod method);

// True when /proc/self/exe is already a read-only overlay file or a write-sealed memfd.
bool self_exe_is_sealed();

// Whether this kernel's overlayfs takes a detached mount as a lower layer (Linux 6.15+), so
// reexec_sealed() tries kOverlayDetached first only there.
bool kernel_takes_detached_lowers();
// A read-only view of the binary at `exe` by the best method this kernel has (as
// reexec_sealed() picks it), for a parent that execs a binary which would otherwise re-exec
// itself: execveat(fd, "", …, AT_EMPTY_PATH) starts it sealed at once.
Result<UniqueFd> seal_binary_best(const std::string& exe);

// Re-execs the current process (same argv and environment) through a sealed view of the binary.
// Returns only on error; a no-op (returns ok) when already sealed.
Result<void> reexec_sealed(char** argv);

}  // namespace skiff::runtime::linux
