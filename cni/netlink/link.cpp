#include <linux/if.h>
#include <netlink/errno.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <sys/socket.h>

#include "cni/netlink/netlink.hpp"

namespace skiff::cni::nl {

namespace {

LinkInfo info_of(rtnl_link* l) {
  LinkInfo i;
  i.index = rtnl_link_get_ifindex(l);
  if (const char* n = rtnl_link_get_name(l)) i.name = n;
  if (const char* t = rtnl_link_get_type(l)) i.kind = t;
  if (nl_addr* a = rtnl_link_get_addr(l); a && nl_addr_get_len(a) > 0) {
    char buf[64];
    i.mac = nl_addr2str(a, buf, sizeof buf);
  }
  i.mtu = rtnl_link_get_mtu(l);
  i.master = rtnl_link_get_master(l);
  i.up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
  return i;
}

}  // namespace

Result<LinkPtr> Netlink::kernel_link(const std::string& name) {
  rtnl_link* l = nullptr;
  int err = rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &l);
  if (err < 0) return nl_error(err, cat("get link ", quote(name)));
  return LinkPtr(l);
}

Result<std::optional<LinkInfo>> Netlink::find_link(const std::string& name) {
  auto l = kernel_link(name);
  if (!l) {
    if (l.error().code() == ENODEV) return std::optional<LinkInfo>();
    return std::move(l).error();
  }
  return std::optional<LinkInfo>(info_of(l->get()));
}

Result<LinkInfo> Netlink::get_link(const std::string& name) {
  auto l = TRY(kernel_link(name));
  return info_of(l.get());
}

Result<void> Netlink::change(const std::string& name, rtnl_link* changes, std::string_view what) {
  auto orig = TRY(kernel_link(name));
  if (int err = rtnl_link_change(sock_.get(), orig.get(), changes, 0); err < 0)
    return nl_error(err, cat(what, " ", quote(name)));
  return ok();
}

Result<LinkInfo> Netlink::ensure_bridge(const std::string& name, std::optional<unsigned> mtu) {
  auto existing = TRY(find_link(name));
  if (!existing) {
    LinkPtr br(rtnl_link_bridge_alloc());
    if (!br) return error("rtnl_link_bridge_alloc: out of memory");
    rtnl_link_set_name(br.get(), name.c_str());
    if (mtu) rtnl_link_set_mtu(br.get(), *mtu);
    rtnl_link_set_flags(br.get(), IFF_UP);
    int err = rtnl_link_add(sock_.get(), br.get(), NLM_F_CREATE | NLM_F_EXCL);
    // Another ADD may have created it in between: that one is ours too.
    if (err < 0 && err != -NLE_EXIST) return nl_error(err, cat("create bridge ", quote(name)));
    existing = TRY(find_link(name));
    if (!existing) return error("bridge ", quote(name), " vanished right after creation");
  }
  if (existing->kind != "bridge")
    return Error(cat("link ", quote(name), " exists and is not a bridge (",
                     existing->kind.empty() ? "device" : existing->kind, ")"),
                 EEXIST);
  if (mtu && existing->mtu != *mtu) TRY(set_mtu(name, *mtu));
  if (!existing->up) TRY(set_up(name));
  return get_link(name);
}

Result<void> Netlink::add_veth(const std::string& host_name, const std::string& peer_name,
                               int peer_netns_fd, std::optional<unsigned> mtu, int master) {
  VethPtr veth(rtnl_link_veth_alloc());
  if (!veth) return error("rtnl_link_veth_alloc: out of memory");
  LinkPtr peer(rtnl_link_veth_get_peer(veth.get()));  // a reference of its own
  rtnl_link_set_name(veth.get(), host_name.c_str());
  rtnl_link_set_name(peer.get(), peer_name.c_str());
  rtnl_link_set_ns_fd(peer.get(), peer_netns_fd);
  if (mtu) {
    rtnl_link_set_mtu(veth.get(), *mtu);
    rtnl_link_set_mtu(peer.get(), *mtu);
  }
  // One RTM_NEWLINK enslaves the host end and sets it up while creating the pair. Not the peer:
  // veth_newlink configures it before the pair is linked, and veth_open then fails with
  // ENOTCONN — the caller sets the pod end up from inside its namespace.
  if (master > 0) rtnl_link_set_master(veth.get(), master);
  rtnl_link_set_flags(veth.get(), IFF_UP);
  if (int err = rtnl_link_add(sock_.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_error(err, cat("create veth ", quote(host_name), " <-> ", quote(peer_name)));
  return ok();
}

Result<void> Netlink::set_up(const std::string& name) {
  LinkPtr changes(rtnl_link_alloc());
  if (!changes) return error("rtnl_link_alloc: out of memory");
  rtnl_link_set_flags(changes.get(), IFF_UP);
  return change(name, changes.get(), "set up");
}

Result<void> Netlink::set_mtu(const std::string& name, unsigned mtu) {
  LinkPtr changes(rtnl_link_alloc());
  if (!changes) return error("rtnl_link_alloc: out of memory");
  rtnl_link_set_mtu(changes.get(), mtu);
  return change(name, changes.get(), cat("set mtu ", mtu, " on"));
}

Result<void> Netlink::set_hairpin(int ifindex, bool on) {
  // RTM_SETLINK with family AF_BRIDGE and IFLA_PROTINFO{IFLA_BRPORT_MODE}: the kernel's
  // br_setlink. libnl builds it from a link object of family AF_BRIDGE.
  LinkPtr l(rtnl_link_alloc());
  if (!l) return error("rtnl_link_alloc: out of memory");
  rtnl_link_set_ifindex(l.get(), ifindex);
  rtnl_link_set_family(l.get(), AF_BRIDGE);
  int err = on ? rtnl_link_bridge_set_flags(l.get(), RTNL_BRIDGE_HAIRPIN_MODE)
               : rtnl_link_bridge_unset_flags(l.get(), RTNL_BRIDGE_HAIRPIN_MODE);
  if (err < 0) return nl_error(err, "bridge port flags");
  if ((err = rtnl_link_change(sock_.get(), l.get(), l.get(), 0)) < 0)
    return nl_error(err, cat("set hairpin mode on ifindex ", ifindex));
  return ok();
}

Result<bool> Netlink::delete_link(const std::string& name) {
  LinkPtr l(rtnl_link_alloc());
  if (!l) return error("rtnl_link_alloc: out of memory");
  rtnl_link_set_name(l.get(), name.c_str());
  int err = rtnl_link_delete(sock_.get(), l.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  if (err < 0) return nl_error(err, cat("delete link ", quote(name)));
  return true;
}

}  // namespace skiff::cni::nl
