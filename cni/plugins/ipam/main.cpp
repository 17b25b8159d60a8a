// skiff-ipam: host-local-style IPAM as a CNI plugin (see cni/ipam/host_local.hpp).
#include "cni/ipam/host_local.hpp"

int main() {
  skiff::cni::ipam::HostLocalPlugin plugin;
  return skiff::cni::plugin_main(plugin, "skiff-ipam " SKIFF_VERSION ": host-local IPAM for CNI");
}
