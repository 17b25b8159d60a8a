// `skiff state ID`: the container's state as runc prints it (runtime-spec state plus rootfs,
// created and owner), indented.

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_state(CLI::App& cmd, const Globals& g) {
  auto args = std::make_shared<std::vector<std::string>>();
  add_positionals(cmd, *args);
  return [args, &g, &cmd]() -> Result<int> {
    auto id = TRY(one_id(cmd, *args));
    auto info = TRY(runtime::state(g.runtime, id));
    print_json(info.to_state_json(), 2);
    return 0;
  };
}

}  // namespace skiff::cli
