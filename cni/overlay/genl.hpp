#pragma once
// The kernel WireGuard backend's messages: generic netlink family "wireguard"
// (<linux/wireguard.h>). WG_CMD_SET_DEVICE carries device attributes and a nested peer list, each
// peer a nested list of attributes with its own nested allowed-IP list (nests of type 0 with
// NLA_F_NESTED, as wg(8) sends them); WG_CMD_GET_DEVICE is a dump answered in the same shape.
// Builders and the parser are separate from the socket so unit tests check them byte by byte.

#include <linux/netlink.h>
#include <netlink/msg.h>

#include <memory>

#include "cni/overlay/backend.hpp"

namespace skiff::cni::overlay::genl {

struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgDeleter>;

// WG_CMD_SET_DEVICE for `ifname` with `config` (flags NLM_F_REQUEST | NLM_F_ACK).
Result<MsgPtr> build_set_device(int family_id, const std::string& ifname,
                                const DeviceConfig& config);
// WG_CMD_GET_DEVICE (a dump request) for `ifname`.
Result<MsgPtr> build_get_device(int family_id, const std::string& ifname);
// Merges one message of a GET_DEVICE dump into `state` (the kernel splits big peer lists over
// several messages; a peer continued from the previous message is merged by key).
Result<void> parse_device(const nlmsghdr* hdr, DeviceState& state);

}  // namespace skiff::cni::overlay::genl
