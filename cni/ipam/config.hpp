#pragma once
// Configuration of the host-local-style IPAM plugin (the "ipam" object of a network config), with
// host-local's field names and defaults so configs written for it work unchanged:
//   "ipam": {"type": "skiff-ipam", "ranges": [[{"subnet": "10.22.0.0/16", "rangeStart": …,
//            "rangeEnd": …, "gateway": …}], [{"subnet": "fd00:22::/64"}]],
//            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "/var/lib/cni/networks"}
// One IP is allocated from each range set; a range set may hold several ranges of one family.

#include <optional>
#include <string>
#include <vector>

#include "cni/errors.hpp"
#include "cni/ip.hpp"
#include "cni/types.hpp"

namespace skiff::cni::ipam {

inline constexpr const char* kDefaultDataDir = "/var/lib/cni/networks";

struct Range {
  IpNet subnet;  // network address, host bits clear
  IpAddr start;  // first allocatable (default: network + 1)
  IpAddr end;    // last allocatable (default: broadcast - 1 for IPv4, the last address for IPv6)
  std::optional<IpAddr> gateway;  // default: network + 1; never allocated
  bool contains(const IpAddr& ip) const { return subnet.contains(ip) && start <= ip && ip <= end; }
  std::string str() const { return cat(start.str(), '-', end.str()); }
};

using RangeSet = std::vector<Range>;

struct Config {
  std::string network;  // the network's name: the lease directory under data_dir
  std::vector<RangeSet> range_sets;
  std::vector<Route> routes;
  Dns dns;
  std::string data_dir = kDefaultDataDir;
};

// Reads and validates the "ipam" object of a network config: code 7 for anything wrong
// (malformed CIDR, start after end, a gateway outside its subnet, overlapping ranges or sets,
// a network too small to allocate from, a name that is not a plain directory name).
CniResult<Config> parse_config(const Json& netconf);

}  // namespace skiff::cni::ipam
