// `skiff exec [flags] ID [COMMAND [ARGS…]]`: runs a new process in a running container. With
// --process FILE the process is that JSON as is (runc ignores the other process flags then);
// otherwise it is the container's own process with the command and the flags applied.

#include <algorithm>
#include <cstdint>

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {
namespace {

struct Flags {
  runtime::ExecOptions options;
  std::string process_file;
  bool tty = false;
  std::string cwd;
  std::vector<std::string> env;
  std::string user;
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> caps;
  bool no_new_privs = false;
  std::string apparmor;
  std::string process_label;
  std::vector<std::string> args;  // ID COMMAND ARGS…
};

Result<oci::Process> process_from_flags(const Globals& g, const Flags& f) {
  oci::Process p = TRY(runtime::exec_base_process(g.runtime, f.args[0]));
  size_t first = f.args.size() > 1 && f.args[1] == "--" ? 2 : 1;
  p.args.assign(f.args.begin() + static_cast<std::ptrdiff_t>(first), f.args.end());
  if (p.args.empty()) return error("exec args cannot be empty");
  p.terminal = f.tty;
  if (!f.cwd.empty()) p.cwd = f.cwd;
  p.env = runtime::cli::merge_env(std::move(p.env), f.env);
  if (!f.user.empty()) {
    auto u = TRY(runtime::cli::parse_user(f.user));
    p.user.uid = u.uid;
    if (u.gid) p.user.gid = *u.gid;
  }
  for (uint32_t gid : f.additional_gids) {
    auto& gids = p.user.additional_gids;
    if (std::find(gids.begin(), gids.end(), gid) == gids.end()) gids.push_back(gid);
  }
  runtime::cli::add_exec_capabilities(p, f.caps);
  if (f.no_new_privs) p.no_new_privileges = true;
  if (!f.apparmor.empty()) p.apparmor_profile = f.apparmor;
  if (!f.process_label.empty()) p.selinux_label = f.process_label;
  return p;
}

Result<oci::Process> process_from_file(const std::string& path) {
  Json j = TRY(read_json_file(path));
  return oci::parse_process(j, "process");
}

}  // namespace

Action add_exec(CLI::App& cmd, const Globals& g) {
  auto f = std::make_shared<Flags>();
  cmd.positionals_at_end();  // after the id, everything belongs to the command
  cmd.add_option("-p,--process", f->process_file, "path to the process.json");
  cmd.add_flag("-t,--tty", f->tty, "allocate a pseudo-TTY");
  cmd.add_flag("-d,--detach", f->options.detach, "detach from the container's process");
  cmd.add_option("--pid-file", f->options.pid_file, "specify the file to write the process id to");
  cmd.add_option("--console-socket", f->options.console_socket,
                 "path to an AF_UNIX socket which will receive a file descriptor referencing the "
                 "master end of the console's pseudoterminal");
  cmd.add_option("--cwd", f->cwd, "current working directory in the container");
  cmd.add_option("-e,--env", f->env, "set environment variables (KEY=VALUE, repeatable)")
      ->allow_extra_args(false);
  cmd.add_option("-u,--user", f->user, "UID (format: <uid>[:<gid>])");
  cmd.add_option("-g,--additional-gids", f->additional_gids, "additional gids (repeatable)")
      ->allow_extra_args(false);
  cmd.add_option("-c,--cap", f->caps, "add a capability to the bounding set (repeatable)")
      ->allow_extra_args(false);
  cmd.add_flag("--no-new-privs", f->no_new_privs,
               "set the no new privileges value for the process");
  cmd.add_option("--preserve-fds", f->options.preserve_fds,
                 "pass N additional file descriptors to the process");
  cmd.add_option("--apparmor", f->apparmor, "set the apparmor profile for the process");
  cmd.add_option("--process-label", f->process_label, "set the asm process label");
  add_positionals(cmd, f->args, "container-id command",
                  "the container's id, then the command and its arguments");
  return [f, &g, &cmd]() -> Result<int> {
    TRY(runtime::cli::check_args(cmd.get_name(), f->args, 1, SIZE_MAX));
    f->options.id = f->args[0];
    if (!f->process_file.empty()) {
      f->options.process = TRY(process_from_file(f->process_file));
    } else {
      f->options.process = TRY(process_from_flags(g, *f));
    }
    TRY(oci::validate_process(f->options.process, "process"));
    return runtime::exec(g.runtime, f->options);
  };
}

}  // namespace skiff::cli
