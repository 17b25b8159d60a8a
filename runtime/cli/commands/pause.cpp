// `skiff pause ID`: freezes every process of the container (cgroup freezer).

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_pause(CLI::App& cmd, const Globals& g) {
  auto args = std::make_shared<std::vector<std::string>>();
  add_positionals(cmd, *args);
  return [args, &g, &cmd]() -> Result<int> {
    auto id = TRY(one_id(cmd, *args));
    TRY(runtime::pause(g.runtime, id));
    return 0;
  };
}

}  // namespace skiff::cli
