// `skiff kill [--all] ID [SIGNAL]`: signals the container's init (default SIGTERM), or with
// --all every process in its cgroup.

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_kill(CLI::App& cmd, const Globals& g) {
  struct Flags {
    bool all = false;
    std::vector<std::string> args;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_flag("-a,--all", f->all, "send the signal to all processes in the container");
  add_positionals(cmd, f->args, "container-id signal",
                  "the container's id, then the signal (name or number, default SIGTERM)");
  return [f, &g, &cmd]() -> Result<int> {
    TRY(runtime::cli::check_args(cmd.get_name(), f->args, 1, 2));
    int signal = TRY(runtime::parse_signal(f->args.size() > 1 ? f->args[1] : "SIGTERM"));
    TRY(runtime::kill(g.runtime, f->args[0], signal, f->all));
    return 0;
  };
}

}  // namespace skiff::cli
