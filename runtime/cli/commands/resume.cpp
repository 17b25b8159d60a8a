// `skiff resume ID`: thaws a paused container.

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_resume(CLI::App& cmd, const Globals& g) {
  auto args = std::make_shared<std::vector<std::string>>();
  add_positionals(cmd, *args);
  return [args, &g, &cmd]() -> Result<int> {
    auto id = TRY(one_id(cmd, *args));
    TRY(runtime::resume(g.runtime, id));
    return 0;
  };
}

}  // namespace skiff::cli
