#pragma once
// OCI hooks: each runs with the container state JSON on stdin, its env and args, and a timeout.

#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::runtime::linux {

// Runs the hooks in order and stops at the first failure (non-zero exit, signal or timeout); the
// error names the phase, the hook path, the reason and the hook's output. The caller applies the
// spec's failure semantics (prestart..startContainer fail the operation; poststart and poststop
// only warn).
Result<void> run_hooks(std::string_view phase, const std::vector<oci::Hook>& hooks,
                       const std::string& state_json);

}  // namespace skiff::runtime::linux
