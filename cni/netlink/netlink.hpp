#pragma once
// Links, addresses and routes through libnl (NETLINK_ROUTE): what the bridge plugin needs and no
// more. libnl objects live in std::unique_ptr with per-type deleters (Mesos routing/internal.hpp).
// A Netlink object is bound to the network namespace current when it was opened.

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cni/ip.hpp"
#include "common/error.hpp"

namespace skiff::cni::nl {

struct SocketDeleter {
  void operator()(nl_sock* p) const { nl_socket_free(p); }
};
struct LinkDeleter {
  void operator()(rtnl_link* p) const { rtnl_link_put(p); }
};
// A veth from rtnl_link_veth_alloc owns its peer: released together.
struct VethDeleter {
  void operator()(rtnl_link* p) const;
};
struct AddrDeleter {
  void operator()(rtnl_addr* p) const { rtnl_addr_put(p); }
};
struct RouteDeleter {
  void operator()(rtnl_route* p) const { rtnl_route_put(p); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* p) const { nl_addr_put(p); }
};
struct CacheDeleter {
  void operator()(nl_cache* p) const { nl_cache_free(p); }
};
using SocketPtr = std::unique_ptr<nl_sock, SocketDeleter>;
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;
using VethPtr = std::unique_ptr<rtnl_link, VethDeleter>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrDeleter>;
using RoutePtr = std::unique_ptr<rtnl_route, RouteDeleter>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrDeleter>;
using CachePtr = std::unique_ptr<nl_cache, CacheDeleter>;

// A libnl error code (negative NLE_*) as an Error: "context: Object exists".
Error nl_error(int err, std::string_view context);
// An nl_addr holding `net` (address and prefix length).
Result<NlAddrPtr> to_nl_addr(const IpNet& net);

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  // "bridge", "veth", … (empty for plain devices)
  std::string mac;
  unsigned mtu = 0;
  int master = 0;  // ifindex of the bridge it is enslaved to
  bool up = false;
};

struct RouteInfo {
  IpNet dst;
  std::optional<IpAddr> gw;
  int ifindex = 0;
};

class Netlink {
 public:
  // A route socket in the calling thread's current network namespace.
  static Result<Netlink> open();

  Result<std::optional<LinkInfo>> find_link(const std::string& name);
  Result<LinkInfo> get_link(const std::string& name);
  // The bridge `name`, created when missing (a concurrent creator is fine), set up, with `mtu`
  // when given. An existing non-bridge link of that name is an error.
  Result<LinkInfo> ensure_bridge(const std::string& name, std::optional<unsigned> mtu);
  // A veth pair in one request: `host_name` here (enslaved to `master`, up) and `peer_name`
  // created directly inside the namespace `peer_netns_fd` (still down). EEXIST keeps its errno.
  Result<void> add_veth(const std::string& host_name, const std::string& peer_name,
                        int peer_netns_fd, std::optional<unsigned> mtu, int master);
  Result<void> set_up(const std::string& name);
  Result<void> set_mtu(const std::string& name, unsigned mtu);
  // Bridge port flag "hairpin": frames may leave by the port they came in on (a pod reaching
  // itself through a service IP).
  Result<void> set_hairpin(int ifindex, bool on);
  // Deletes a link; false when there was none.
  Result<bool> delete_link(const std::string& name);

  // Adds an address (IPv6 without duplicate address detection, so it is usable at once); an
  // address already there is fine.
  Result<void> add_address(int ifindex, const IpNet& address);
  Result<std::vector<IpNet>> addresses(int ifindex);

  // Adds a route in the main table; no gateway means a link-scope route.
  Result<void> add_route(const IpNet& dst, const std::optional<IpAddr>& gw, int ifindex);
  Result<std::vector<RouteInfo>> routes(int family);
  // Deletes the main-table route to `dst` on `ifindex`; false when there was none.
  Result<bool> delete_route(const IpNet& dst, int ifindex);

 private:
  explicit Netlink(SocketPtr sock) : sock_(std::move(sock)) {}
  Result<LinkPtr> kernel_link(const std::string& name);
  Result<void> change(const std::string& name, rtnl_link* changes, std::string_view what);

  SocketPtr sock_;
};

}  // namespace skiff::cni::nl
