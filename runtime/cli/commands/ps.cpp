// `skiff ps [--format table|json] ID [-- PS_ARGS…]`: the container's processes. json: its pids;
// table: `ps PS_ARGS` (default -ef) cut to the header and the container's lines (runc's way).

#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "common/subprocess.hpp"
#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {
namespace {

// exec.Command("ps") looks the program up in $PATH; run_subprocess wants a path.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "/usr/local/bin:/usr/bin:/bin", ':', true)) {
    std::string candidate = cat(dir, "/", name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

}  // namespace

Action add_ps(CLI::App& cmd, const Globals& g) {
  struct Flags {
    std::string format = "table";
    std::vector<std::string> args;
  };
  auto f = std::make_shared<Flags>();
  cmd.positionals_at_end();  // after the id, everything is for ps(1)
  cmd.add_option("-f,--format", f->format, "select one of: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  add_positionals(cmd, f->args, "container-id ps-args",
                  "the container's id, then arguments for ps(1) (default -ef)");
  return [f, &g, &cmd]() -> Result<int> {
    TRY(runtime::cli::check_args(cmd.get_name(), f->args, 1, SIZE_MAX));
    auto pids = TRY(runtime::ps(g.runtime, f->args[0]));
    if (f->format == "json") {
      print_json(Json(pids));
      return 0;
    }
    std::vector<std::string> argv = {"ps"};
    for (size_t i = 1; i < f->args.size(); ++i) {
      // go-runc's Top passes its options as one (maybe empty) argument; "--" may separate.
      if (f->args[i].empty() || (i == 1 && f->args[i] == "--")) continue;
      argv.push_back(f->args[i]);
    }
    if (argv.size() == 1) argv.push_back("-ef");
    SubprocessOptions o;
    o.path = find_program("ps");
    o.argv = argv;
    auto r = TRY(run_subprocess(o));
    if (!r.exited_ok()) return error(join(argv, " "), ": ", r.describe(), ": ", trim(r.output));
    std::cout << TRY(runtime::cli::filter_ps_output(r.output, pids)) << std::flush;
    return 0;
  };
}

}  // namespace skiff::cli
