#pragma once
// The skiff-bridge plugin: pods on one node share a Linux bridge. ADD makes sure the bridge
// exists (up, MTU), creates a veth pair with one end in the pod's netns (named CNI_IFNAME) and the
// other on the bridge, asks the IPAM plugin named in ipam.type for addresses (executing it per the
// spec), configures them and the routes in the pod, and optionally the gateway address on the
// bridge, a default route, hairpin mode and masquerading. A failed ADD undoes all of it. DEL is
// idempotent and succeeds when the netns is already gone.

#include "cni/skeleton.hpp"

namespace skiff::cni::bridge {

class BridgePlugin : public Plugin {
 public:
  CniResult<NetworkResult> add(const CmdArgs& args) override;
  CniResult<void> del(const CmdArgs& args) override;
  CniResult<void> check(const CmdArgs& args) override;
  CniResult<void> status(const CmdArgs& args) override;
  CniResult<void> gc(const CmdArgs& args) override;
};

// The IPAM type the bridge plugin runs in-process instead of executing it.
inline constexpr const char* kBuiltinIpam = "skiff-ipam";

// Runs the delegated IPAM plugin with this invocation's environment and stdin (spec section
// "Delegated plugins"), for `command`; returns its stdout. kBuiltinIpam runs in-process.
CniResult<std::string> delegate_ipam(const CmdArgs& args, const std::string& ipam_type,
                                     const std::string& command);

}  // namespace skiff::cni::bridge
