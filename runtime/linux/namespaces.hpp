#pragma once
// Namespace types of the runtime-spec and what the kernel calls them.

#include <string_view>

#include "common/error.hpp"

namespace skiff::runtime::linux {

struct NamespaceKind {
  std::string_view type;       // runtime-spec name: "network"
  int clone_flag;              // CLONE_NEWNET
  std::string_view proc_name;  // /proc/<pid>/ns/<proc_name>: "net"
};

// The kinds in the order a process must join them: user first (it grants the rights to join the
// others), mount last (it changes what paths mean).
const std::vector<NamespaceKind>& namespace_kinds();
Result<NamespaceKind> namespace_kind(std::string_view type);

}  // namespace skiff::runtime::linux
