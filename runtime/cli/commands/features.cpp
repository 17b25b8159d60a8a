// `skiff features`: what this runtime supports (runtime-spec features.md), as indented JSON.

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_features(CLI::App& cmd, const Globals& g) {
  auto args = std::make_shared<std::vector<std::string>>();
  add_no_positionals(cmd, *args);
  return [args, &cmd]() -> Result<int> {
    TRY(runtime::cli::check_args(cmd.get_name(), *args, 0, 0));
    print_json(runtime::features(), 4);
    return 0;
  };
}

}  // namespace skiff::cli
