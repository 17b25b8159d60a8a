// `skiff list [--format table|json] [--quiet]`: the containers under --root, like `runc list`.

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_list(CLI::App& cmd, const Globals& g) {
  struct Flags {
    std::string format = "table";
    bool quiet = false;
    std::vector<std::string> args;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_option("-f,--format", f->format, "select one of: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  cmd.add_flag("-q,--quiet", f->quiet, "display only container IDs");
  add_no_positionals(cmd, f->args);
  return [f, &g, &cmd]() -> Result<int> {
    TRY(runtime::cli::check_args(cmd.get_name(), f->args, 0, 0));
    auto containers = TRY(runtime::list(g.runtime));
    if (f->quiet) {
      for (const auto& c : containers) std::cout << c.id << '\n';
    } else if (f->format == "json") {
      Json all = Json::array();
      for (const auto& c : containers) all.push_back(c.to_state_json());
      print_json(all);
    } else {
      std::vector<std::vector<std::string>> rows = {
          {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
      for (const auto& c : containers) {
        pid_t pid = c.status == runtime::Status::kStopped ? 0 : c.pid;
        rows.push_back({c.id, std::to_string(pid), runtime::status_name(c.status), c.bundle,
                        c.created, c.owner});
      }
      std::cout << runtime::cli::format_table(rows);
    }
    std::cout << std::flush;
    return 0;
  };
}

}  // namespace skiff::cli
