#pragma once
// Picks addresses from range sets (host-local's algorithm): round-robin from the one after the last
// reserved, skipping gateways and leased IPs, so a freed IP is not handed out again at once (a
// stale ARP entry or a late packet would reach the wrong pod).

#include <optional>
#include <string>

#include "cni/errors.hpp"
#include "cni/ipam/config.hpp"
#include "cni/ipam/lease_store.hpp"
#include "cni/types.hpp"

namespace skiff::cni::ipam {

// Allocates one IP from `set` (index `set_index` of the config) for (container_id, ifname), or the
// `requested` one. Errors: code 11 when the set is exhausted (leases free up as pods go), 7 for
// a requested IP outside the set, 999 when the container already holds an IP in it.
CniResult<IpConfig> allocate(LeaseStore& store, const RangeSet& set, size_t set_index,
                             const std::string& container_id, const std::string& ifname,
                             const std::optional<IpAddr>& requested = {});

}  // namespace skiff::cni::ipam
