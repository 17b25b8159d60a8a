#pragma once
// Configuration of the skiff-bridge plugin, with the reference bridge plugin's field names:
//   {"type": "skiff-bridge", "bridge": "cni0", "isGateway": true, "isDefaultGateway": true,
//    "ipMasq": true, "hairpinMode": true, "mtu": 1420, "ipam": {"type": "skiff-ipam", …}}
// plus one of our own: "ipMasqExclude": ["10.244.0.0/16"] — destinations ipMasq leaves alone
// besides the pod's subnet (the cluster's pod CIDR: pod to pod across the overlay keeps the
// pods' addresses and costs no NAT).

#include <optional>
#include <string>
#include <vector>

#include "cni/errors.hpp"
#include "cni/ip.hpp"
#include "cni/types.hpp"

namespace skiff::cni::bridge {

struct Config {
  std::string network;
  std::string bridge = "cni0";
  bool is_gateway = false;          // the gateway IP goes on the bridge, forwarding on
  bool is_default_gateway = false;  // plus a default route in the pod (implies is_gateway)
  bool ip_masq = false;
  std::vector<IpNet> ip_masq_exclude;
  bool hairpin = false;
  std::optional<unsigned> mtu;
  std::string ipam_type;
};

// Code 7 for anything malformed (bad bridge name, MTU out of range, no ipam.type).
CniResult<Config> parse_config(const NetworkConfig& conf);
// A valid Linux interface name: 1..15 bytes, no '/', ':' or whitespace, not "." or "..".
bool valid_ifname(std::string_view name);

}  // namespace skiff::cni::bridge
