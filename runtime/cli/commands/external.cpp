// Verb groups implemented by other binaries (`skiff pod` → skiff-pod): skiff execs them, so this
// binary — benchmarked on start time and RSS — never links what they need (yaml-cpp, libnl, the
// CNI and kubelet libraries).

#include <unistd.h>

#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {

std::string external_binary_path(const std::string& name, const char* build_path) {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    std::string next_to = dir.substr(0, dir.rfind('/')) + "/" + name;
    if (::access(next_to.c_str(), X_OK) == 0) return next_to;
  }
  if (build_path && *build_path && ::access(build_path, X_OK) == 0) return build_path;
  return name;
}

Action add_external(CLI::App& cmd, const char* binary, const char* build_path) {
  // Everything after the verb (including --help) belongs to the other binary.
  cmd.prefix_command();
  cmd.set_help_flag();
  cmd.allow_extras();
  return [&cmd, binary, build_path]() -> Result<int> {
    std::vector<std::string> args = {binary};
    for (auto& a : cmd.remaining()) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string path = external_binary_path(binary, build_path);
    if (path.find('/') != std::string::npos)
      ::execv(path.c_str(), argv.data());
    else
      ::execvp(path.c_str(), argv.data());
    return errno_error("exec ", quote(path), " (skiff ", cmd.get_name(), " needs the ", binary,
                       " binary)");
  };
}

#ifndef SKIFF_POD_BUILD_PATH
#define SKIFF_POD_BUILD_PATH ""
#endif

Action add_pod(CLI::App& cmd, const Globals& g) {
  return add_external(cmd, "skiff-pod", SKIFF_POD_BUILD_PATH);
}

}  // namespace skiff::cli
