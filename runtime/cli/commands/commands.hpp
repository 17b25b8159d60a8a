#pragma once
// The verbs of `skiff`, one file each (crun's src/create.c, src/kill.c, …). A verb adds its flags
// to the CLI11 subcommand main.cpp made for it and returns the action to run when it was chosen;
// main.cpp keeps the table of verbs, parses, configures logging and turns errors into exit 1.

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "runtime/cli_util.hpp"
#include "runtime/container.hpp"

namespace skiff::cli {

// The global flags, given before the verb (runc's). Filled by the parse, read by every action.
struct Globals {
  runtime::GlobalOptions runtime;
  std::string log_path;             // --log: empty means stderr
  std::string log_format = "text";  // --log-format text|json
  bool debug = false;
  std::string rootless;  // --rootless VALUE: accepted and ignored (podman, go-runc pass it)
  bool version = false;
};

// What a chosen verb does: the exit status (a container's or exec'd process's, else 0), or an
// error that main prints once (log file and stderr) and turns into exit status 1.
using Action = std::function<Result<int>()>;

// Adds a verb's flags and positionals to `cmd` and returns its action. `g` and `cmd` outlive the
// action. A group of verbs (`skiff pod …`) adds subcommands to `cmd` and dispatches among them.
using AddVerb = Action (*)(CLI::App& cmd, const Globals& g);

struct Verb {
  const char* name;
  const char* description;
  AddVerb add;
};

Action add_create(CLI::App& cmd, const Globals& g);
Action add_start(CLI::App& cmd, const Globals& g);
Action add_run(CLI::App& cmd, const Globals& g);
Action add_state(CLI::App& cmd, const Globals& g);
Action add_kill(CLI::App& cmd, const Globals& g);
Action add_delete(CLI::App& cmd, const Globals& g);
Action add_list(CLI::App& cmd, const Globals& g);
Action add_ps(CLI::App& cmd, const Globals& g);
Action add_exec(CLI::App& cmd, const Globals& g);
Action add_pause(CLI::App& cmd, const Globals& g);
Action add_resume(CLI::App& cmd, const Globals& g);
Action add_update(CLI::App& cmd, const Globals& g);
Action add_events(CLI::App& cmd, const Globals& g);
Action add_spec(CLI::App& cmd, const Globals& g);
Action add_features(CLI::App& cmd, const Globals& g);

// A verb group another binary implements (external.cpp): the action execs `binary` (next to this
// one, else `build_path`, else $PATH) with everything after the verb.
std::string external_binary_path(const std::string& name, const char* build_path);
Action add_external(CLI::App& cmd, const char* binary, const char* build_path);
// `skiff pod …` → skiff-pod (kubelet/cli).
Action add_pod(CLI::App& cmd, const Globals& g);

// The flags create and run share (defined in create.cpp).
void add_create_flags(CLI::App& cmd, runtime::CreateOptions& o);

// Collects a verb's positional arguments; the action checks their number with check_args, so
// the messages are runc's rather than CLI11's.
inline void add_positionals(CLI::App& cmd, std::vector<std::string>& args,
                            const std::string& name = "container-id",
                            const std::string& help = "the container's id") {
  cmd.add_option(name, args, help);
}
// For a verb that takes none: collected (hidden from --help) so check_args can name the extra.
inline void add_no_positionals(CLI::App& cmd, std::vector<std::string>& args) {
  cmd.add_option("args", args)->group("");
}

// The one container id of a verb like `start ID`.
inline Result<std::string> one_id(const CLI::App& cmd, const std::vector<std::string>& args) {
  TRY(runtime::cli::check_args(cmd.get_name(), args, 1, 1));
  return args[0];
}

// Prints JSON: pretty with `indent` >= 0, else on one line; invalid UTF-8 is replaced rather
// than thrown.
inline void print_json(const Json& j, int indent = -1) {
  std::cout << j.dump(indent, ' ', false, Json::error_handler_t::replace) << '\n' << std::flush;
}

}  // namespace skiff::cli
