// `skiff net ARGS`: the WireGuard overlay by hand. It execs skiff-net (cni/cli), so this binary —
// benchmarked on start time and RSS — never links libnl or libcrypto.

#include <unistd.h>

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

namespace {

// skiff-net: next to this binary (installed or in the build tree), else where the build put it,
// else on $PATH.
std::string skiff_net_path() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    std::string next_to = dir.substr(0, dir.rfind('/')) + "/skiff-net";
    if (::access(next_to.c_str(), X_OK) == 0) return next_to;
  }
#ifdef SKIFF_NET_BUILD_PATH
  if (::access(SKIFF_NET_BUILD_PATH, X_OK) == 0) return SKIFF_NET_BUILD_PATH;
#endif
  return "skiff-net";
}

}  // namespace

Action add_net(CLI::App& cmd, const Globals& g) {
  // Everything after `net` (including --help) belongs to skiff-net.
  cmd.prefix_command();
  cmd.set_help_flag();
  cmd.allow_extras();
  return [&cmd]() -> Result<int> {
    std::vector<std::string> args = {"skiff-net"};
    for (auto& a : cmd.remaining()) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string path = skiff_net_path();
    if (path.find('/') != std::string::npos)
      ::execv(path.c_str(), argv.data());
    else
      ::execvp(path.c_str(), argv.data());
    return errno_error("exec ", quote(path), " (skiff net needs the skiff-net binary)");
  };
}

}  // namespace skiff::cli
