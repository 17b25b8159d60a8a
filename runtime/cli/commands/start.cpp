// `skiff start ID`: lets a created container's process run.

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_start(CLI::App& cmd, const Globals& g) {
  auto args = std::make_shared<std::vector<std::string>>();
  add_positionals(cmd, *args);
  return [args, &g, &cmd]() -> Result<int> {
    auto id = TRY(one_id(cmd, *args));
    TRY(runtime::start(g.runtime, id));
    return 0;
  };
}

}  // namespace skiff::cli
