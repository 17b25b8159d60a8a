// `skiff spec [--bundle DIR] [--rootless]`: writes a starting config.json, like `runc spec`.

#include <fcntl.h>

#include "common/fs.hpp"
#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

Action add_spec(CLI::App& cmd, const Globals& g) {
  struct Flags {
    std::string bundle = ".";
    bool rootless = false;
    std::vector<std::string> args;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_option("-b,--bundle", f->bundle, "path to the root of the bundle directory");
  cmd.add_flag("--rootless", f->rootless, "generate a configuration for a rootless container");
  add_no_positionals(cmd, f->args);
  return [f, &cmd]() -> Result<int> {
    TRY(runtime::cli::check_args(cmd.get_name(), f->args, 0, 0));
    std::string path = path_join(f->bundle, "config.json");
    const char* exists = "File config.json exists. Remove it first";  // runc's words
    if (path_exists(path)) return error(exists);
    std::string text = oci::default_spec(f->rootless).dump(1, '\t');
    // O_EXCL: never write through a symlink or over a file that appeared meanwhile.
    auto written = write_file(path, text, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (!written && written.error().code() == EEXIST) return error(exists);
    TRY(std::move(written));
    return 0;
  };
}

}  // namespace skiff::cli
