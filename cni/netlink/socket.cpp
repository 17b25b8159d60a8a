#include <netlink/errno.h>
#include <netlink/route/link/veth.h>

#include "cni/netlink/netlink.hpp"

namespace skiff::cni::nl {

void VethDeleter::operator()(rtnl_link* p) const { rtnl_link_veth_release(p); }

Error nl_error(int err, std::string_view context) {
  // Keep a matching errno where one is obvious, so callers can test for "exists"/"not found".
  int code = 0;
  switch (-err) {
    case NLE_EXIST:
      code = EEXIST;
      break;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:
      code = ENODEV;
      break;
    case NLE_PERM:
      code = EPERM;
      break;
    case NLE_BUSY:
      code = EBUSY;
      break;
    case NLE_INVAL:
      code = EINVAL;
      break;
    case NLE_NOADDR:
      code = EADDRNOTAVAIL;
      break;
    default:
      break;
  }
  return Error(cat(context, ": ", nl_geterror(err)), code);
}

Result<NlAddrPtr> to_nl_addr(const IpNet& net) {
  NlAddrPtr a(nl_addr_build(net.family(), net.addr().bytes(), net.addr().size()));
  if (!a) return error("nl_addr_build ", quote(net.str()), ": out of memory");
  nl_addr_set_prefixlen(a.get(), net.prefix());
  return a;
}

Result<Netlink> Netlink::open() {
  SocketPtr sock(nl_socket_alloc());
  if (!sock) return error("nl_socket_alloc: out of memory");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    return nl_error(err, "connect NETLINK_ROUTE");
  return Netlink(std::move(sock));
}

}  // namespace skiff::cni::nl
