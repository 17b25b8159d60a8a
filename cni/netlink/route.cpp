#include <linux/rtnetlink.h>
#include <netlink/errno.h>

#include "cni/netlink/netlink.hpp"

namespace skiff::cni::nl {

Result<void> Netlink::add_route(const IpNet& dst, const std::optional<IpAddr>& gw, int ifindex) {
  RoutePtr r(rtnl_route_alloc());
  if (!r) return error("rtnl_route_alloc: out of memory");
  auto d = TRY(to_nl_addr(dst.network()));
  rtnl_route_set_family(r.get(), static_cast<uint8_t>(dst.family()));
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(r.get(), RTPROT_BOOT);
  rtnl_route_set_type(r.get(), RTN_UNICAST);
  rtnl_route_set_scope(r.get(), gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  if (int err = rtnl_route_set_dst(r.get(), d.get()); err < 0) return nl_error(err, "route dst");
  rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
  if (!nh) return error("rtnl_route_nh_alloc: out of memory");
  rtnl_route_nh_set_ifindex(nh, ifindex);
  if (gw) {
    auto g = TRY(to_nl_addr(IpNet(*gw, gw->bits())));
    rtnl_route_nh_set_gateway(nh, g.get());
  }
  rtnl_route_add_nexthop(r.get(), nh);
  if (int err = rtnl_route_add(sock_.get(), r.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_error(err, cat("add route ", dst.network().str(), gw ? cat(" via ", gw->str()) : "",
                             " on ifindex ", ifindex));
  return ok();
}

Result<std::vector<RouteInfo>> Netlink::routes(int family) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_route_alloc_cache(sock_.get(), family, 0, &raw); err < 0)
    return nl_error(err, "list routes");
  CachePtr cache(raw);
  std::vector<RouteInfo> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_nnexthops(r) < 1) continue;
    nl_addr* dst = rtnl_route_get_dst(r);
    if (!dst) continue;
    int fam = rtnl_route_get_family(r);
    RouteInfo info;
    std::array<uint8_t, 16> zero{};
    const void* bytes = nl_addr_get_len(dst) > 0 ? nl_addr_get_binary_addr(dst) : zero.data();
    info.dst = IpNet(IpAddr::from_bytes(fam, bytes), static_cast<int>(nl_addr_get_prefixlen(dst)));
    rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
    info.ifindex = rtnl_route_nh_get_ifindex(nh);
    if (nl_addr* g = rtnl_route_nh_get_gateway(nh); g && nl_addr_get_len(g) > 0)
      info.gw = IpAddr::from_bytes(fam, nl_addr_get_binary_addr(g));
    out.push_back(info);
  }
  return out;
}

Result<bool> Netlink::delete_route(const IpNet& dst, int ifindex) {
  RoutePtr r(rtnl_route_alloc());
  if (!r) return error("rtnl_route_alloc: out of memory");
  auto d = TRY(to_nl_addr(dst.network()));
  rtnl_route_set_family(r.get(), static_cast<uint8_t>(dst.family()));
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  // Any scope and any protocol (libnl's default protocol is RTPROT_STATIC, which would only
  // match routes added as static).
  rtnl_route_set_scope(r.get(), RT_SCOPE_NOWHERE);
  rtnl_route_set_protocol(r.get(), RTPROT_UNSPEC);
  if (int err = rtnl_route_set_dst(r.get(), d.get()); err < 0) return nl_error(err, "route dst");
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!nh) return error("rtnl_route_nh_alloc: out of memory");
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_add_nexthop(r.get(), nh);
  int err = rtnl_route_delete(sock_.get(), r.get(), 0);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0)
    return nl_error(err, cat("delete route ", dst.network().str(), " on ifindex ", ifindex));
  return true;
}

}  // namespace skiff::cni::nl
