// skiff-bridge: the node bridge CNI plugin (see cni/bridge/plugin.hpp).
#include "cni/bridge/plugin.hpp"

int main() {
  skiff::cni::bridge::BridgePlugin plugin;
  return skiff::cni::plugin_main(plugin, "skiff-bridge " SKIFF_VERSION ": bridge CNI plugin");
}
