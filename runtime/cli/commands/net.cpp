// `skiff net ARGS`: the WireGuard overlay by hand. It execs skiff-net (cni/cli), so this binary —
// benchmarked on start time and RSS — never links libnl or libcrypto.

#include "runtime/cli/commands/commands.hpp"

#ifndef SKIFF_NET_BUILD_PATH
#define SKIFF_NET_BUILD_PATH ""
#endif

namespace skiff::cli {

Action add_net(CLI::App& cmd, const Globals& g) {
  return add_external(cmd, "skiff-net", SKIFF_NET_BUILD_PATH);
}

}  // namespace skiff::cli
