#pragma once
// The skiff-ipam plugin: host-local-style address management on the local disk. ADD allocates one
// IP per range set (or the ones requested with CNI_ARGS "IP=" / runtimeConfig "ips"), DEL
// releases the attachment's leases (idempotent), CHECK verifies they are still held, GC releases
// leases of attachments the runtime no longer lists, STATUS checks the lease directory is usable.

#include "cni/skeleton.hpp"

namespace skiff::cni::ipam {

class HostLocalPlugin : public Plugin {
 public:
  CniResult<NetworkResult> add(const CmdArgs& args) override;
  CniResult<void> del(const CmdArgs& args) override;
  CniResult<void> check(const CmdArgs& args) override;
  CniResult<void> status(const CmdArgs& args) override;
  CniResult<void> gc(const CmdArgs& args) override;
};

}  // namespace skiff::cni::ipam
