#include "cni/ipam/allocator.hpp"

namespace skiff::cni::ipam {

namespace {

std::string describe(const RangeSet& set) {
  std::vector<std::string> parts;
  for (const auto& r : set) parts.push_back(r.str());
  return join(parts, ",");
}

IpConfig config_for(const Range& r, const IpAddr& ip) {
  return IpConfig{IpNet(ip, r.subnet.prefix()), r.gateway, std::nullopt};
}

bool is_gateway(const RangeSet& set, const IpAddr& ip) {
  for (const auto& r : set)
    if (r.gateway && *r.gateway == ip) return true;
  return false;
}

}  // namespace

CniResult<IpConfig> allocate(LeaseStore& store, const RangeSet& set, size_t set_index,
                             const std::string& container_id, const std::string& ifname,
                             const std::optional<IpAddr>& requested) {
  if (requested) {
    for (const auto& r : set) {
      if (!r.contains(*requested)) continue;
      if (!TRY(store.reserve(*requested, container_id, ifname)))
        return cni_error(kErrTryAgainLater, "requested IP address ", requested->str(),
                         " is not available in range set ", describe(set));
      TRY(store.set_last_reserved(set_index, *requested));
      return config_for(r, *requested);
    }
    return cni_error(kErrInvalidNetworkConfig, "requested IP address ", requested->str(),
                     " is not in range set ", describe(set));
  }

  // The spec forbids two ADDs handing one attachment two addresses of the same set.
  for (const auto& held : TRY(store.find_by_id(container_id, ifname)))
    for (const auto& r : set)
      if (r.contains(held))
        return cni_error(kErrInternal, held.str(), " has been allocated to ", container_id, "/",
                         ifname, ", duplicate allocation is not allowed");

  // Start after the last reserved IP when it is still in the set, else at the first range.
  size_t range_index = 0;
  IpAddr cur = set[0].start;
  if (auto last = TRY(store.last_reserved(set_index))) {
    for (size_t i = 0; i < set.size(); ++i) {
      if (!set[i].contains(*last)) continue;
      range_index = i;
      cur = *last;
      // Advance once: the search below starts at the address after it.
      if (cur == set[i].end) {
        range_index = (i + 1) % set.size();
        cur = set[range_index].start;
      } else {
        cur = cur.next();
      }
      break;
    }
  }
  const IpAddr first = cur;
  const size_t first_range = range_index;
  while (true) {
    const Range& r = set[range_index];
    if (!is_gateway(set, cur)) {
      if (TRY(store.reserve(cur, container_id, ifname))) {
        TRY(store.set_last_reserved(set_index, cur));
        return config_for(r, cur);
      }
    }
    if (cur == r.end) {
      range_index = (range_index + 1) % set.size();
      cur = set[range_index].start;
    } else {
      cur = cur.next();
    }
    if (cur == first && range_index == first_range) break;
  }
  return CniError{kErrTryAgainLater, cat("no IP addresses available in range set ", describe(set)),
                  cat("every address of network ", quote(store.dir()), " is leased")};
}

}  // namespace skiff::cni::ipam
