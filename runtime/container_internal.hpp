#pragma once
// Pieces shared by the lifecycle files (container.cpp, exec.cpp); not a public API.

#include <memory>
#include <string>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/container.hpp"
#include "runtime/state.hpp"

namespace skiff::runtime::internal {

// The saved state plus the live status, computed from the process and the exec fifo.
struct Loaded {
  SavedState saved;
  Status status = Status::kStopped;
};

Result<Loaded> load(const GlobalOptions& g, const std::string& id);
Result<std::unique_ptr<cgroups::Manager>> cgroup_of(const SavedState& s);
// The runtime-spec state JSON hooks get on stdin.
std::string hook_state(const SavedState& s, Status status);
// Resolves the bundle path and loads its config.json.
Result<oci::Spec> load_bundle_spec(const std::string& bundle);

}  // namespace skiff::runtime::internal
