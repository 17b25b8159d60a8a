#include "runtime/linux/namespaces.hpp"

#include <sched.h>

#include <vector>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace skiff::runtime::linux {

const std::vector<NamespaceKind>& namespace_kinds() {
  static const std::vector<NamespaceKind> kinds = {
      {"user", CLONE_NEWUSER, "user"},  {"cgroup", CLONE_NEWCGROUP, "cgroup"},
      {"ipc", CLONE_NEWIPC, "ipc"},     {"uts", CLONE_NEWUTS, "uts"},
      {"network", CLONE_NEWNET, "net"}, {"pid", CLONE_NEWPID, "pid"},
      {"time", CLONE_NEWTIME, "time"},  {"mount", CLONE_NEWNS, "mnt"},
  };
  return kinds;
}

Result<NamespaceKind> namespace_kind(std::string_view type) {
  for (const auto& k : namespace_kinds())
    if (k.type == type) return k;
  return error("unknown namespace type ", quote(type));
}

}  // namespace skiff::runtime::linux
