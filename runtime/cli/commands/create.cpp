// `skiff create [flags] ID`: sets the container up; its process waits for `start`.

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

void add_create_flags(CLI::App& cmd, runtime::CreateOptions& o) {
  cmd.add_option("-b,--bundle", o.bundle,
                 "path to the root of the bundle directory, defaults to the current directory");
  cmd.add_option("--pid-file", o.pid_file, "specify the file to write the process id to");
  cmd.add_option("--console-socket", o.console_socket,
                 "path to an AF_UNIX socket which will receive a file descriptor referencing the "
                 "master end of the console's pseudoterminal");
  cmd.add_flag("--no-pivot", o.no_pivot,
               "do not use pivot root to jail process inside rootfs (for a rootfs on a ramdisk)");
  cmd.add_flag("--no-new-keyring", o.no_new_keyring,
               "do not create a new session keyring for the container");
  cmd.add_option("--preserve-fds", o.preserve_fds,
                 "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N)");
}

Action add_create(CLI::App& cmd, const Globals& g) {
  struct Flags {
    runtime::CreateOptions options;
    bool detach = false;
    std::vector<std::string> args;
  };
  auto f = std::make_shared<Flags>();
  add_create_flags(cmd, f->options);
  // go-runc's CreateOpts may add --detach; a created container is always detached.
  cmd.add_flag("-d,--detach", f->detach, "ignored: create always detaches")->group("");
  add_positionals(cmd, f->args);
  return [f, &g, &cmd]() -> Result<int> {
    f->options.id = TRY(one_id(cmd, f->args));
    TRY(runtime::create(g.runtime, f->options));
    return 0;
  };
}

}  // namespace skiff::cli
