#include <linux/if_addr.h>
#include <netlink/errno.h>

#include "cni/netlink/netlink.hpp"

namespace skiff::cni::nl {

Result<void> Netlink::add_address(int ifindex, const IpNet& address) {
  AddrPtr a(rtnl_addr_alloc());
  if (!a) return error("rtnl_addr_alloc: out of memory");
  auto local = TRY(to_nl_addr(address));
  rtnl_addr_set_ifindex(a.get(), ifindex);
  rtnl_addr_set_family(a.get(), address.family());
  if (int err = rtnl_addr_set_local(a.get(), local.get()); err < 0) return nl_error(err, "address");
  if (!address.addr().is_v4()) rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
  int err = rtnl_addr_add(sock_.get(), a.get(), 0);
  if (err == -NLE_EXIST) return ok();
  if (err < 0) return nl_error(err, cat("add address ", address.str(), " to ifindex ", ifindex));
  return ok();
}

Result<std::vector<IpNet>> Netlink::addresses(int ifindex) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock_.get(), &raw); err < 0)
    return nl_error(err, "list addresses");
  CachePtr cache(raw);
  std::vector<IpNet> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex) continue;
    nl_addr* local = rtnl_addr_get_local(a);
    if (!local) continue;
    int family = nl_addr_get_family(local);
    if (family != AF_INET && family != AF_INET6) continue;
    out.emplace_back(IpAddr::from_bytes(family, nl_addr_get_binary_addr(local)),
                     rtnl_addr_get_prefixlen(a));
  }
  return out;
}

}  // namespace skiff::cni::nl
