// `skiff run [flags] ID`: create + start; in the foreground skiff's exit code is the container's.

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_run(CLI::App& cmd, const Globals& g) {
  struct Flags {
    runtime::RunOptions options;
    std::vector<std::string> args;
  };
  auto f = std::make_shared<Flags>();
  add_create_flags(cmd, f->options);
  cmd.add_flag("-d,--detach", f->options.detach, "detach from the container's process");
  cmd.add_flag("--keep", f->options.keep,
               "do not delete the container after it exits (foreground only)");
  add_positionals(cmd, f->args);
  return [f, &g, &cmd]() -> Result<int> {
    f->options.id = TRY(one_id(cmd, f->args));
    return runtime::run(g.runtime, f->options);
  };
}

}  // namespace skiff::cli
