// `skiff delete [--force] ID`: removes a stopped container (--force kills a running one first).

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_delete(CLI::App& cmd, const Globals& g) {
  struct Flags {
    bool force = false;
    std::vector<std::string> args;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_flag("-f,--force", f->force,
               "forcibly delete the container if it is still running (uses SIGKILL)");
  add_positionals(cmd, f->args);
  return [f, &g, &cmd]() -> Result<int> {
    auto id = TRY(one_id(cmd, f->args));
    TRY(runtime::remove(g.runtime, id, f->force));
    return 0;
  };
}

}  // namespace skiff::cli
