#include "cni/overlay/overlay.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/file.h>

#include <algorithm>
#include <set>

#include "cni/bridge/ipmasq.hpp"
#include "cni/netlink/netlink.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace skiff::cni::overlay {

namespace {

// Serialises overlay changes on one device (two `skiff net` at once, the kubelet and a person).
Result<UniqueFd> lock(const OverlayOptions& o) {
  TRY(mkdir_p(o.state_dir, 0700));
  std::string path = cat(o.state_dir, "/", o.ifname, ".lock");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("open ", quote(path));
  while (flock(fd.get(), LOCK_EX) < 0)
    if (errno != EINTR) return errno_error("lock ", quote(path));
  return fd;
}

Result<std::optional<Json>> read_state(const std::string& path) {
  if (!path_exists(path)) return std::optional<Json>();
  auto j = TRY(read_json_file(path));
  if (!j.is_object()) return error(quote(path), ": expected an object");
  return std::optional<Json>(std::move(j));
}

// IPv6 link-local (fe80::/10) and multicast (ff00::/8) routes come with the device itself.
bool owned_by_device(const IpNet& n) {
  return !n.addr().is_v4() && (n.addr().bytes()[0] == 0xfe || n.addr().bytes()[0] == 0xff);
}

}  // namespace

std::string masquerade_network(const std::string& ifname) { return cat("net-", ifname); }

std::string Overlay::state_file() const { return cat(o_.state_dir, "/", o_.ifname, ".json"); }

Result<Overlay> Overlay::open(OverlayOptions o) {
  if (o.ifname.empty() || o.ifname.size() > 15 || o.ifname.find('/') != std::string::npos)
    return Error(cat("interface name ", quote(o.ifname), ": want 1..15 characters, no '/'"),
                 EINVAL);
  BackendOptions b;
  b.ifname = o.ifname;
  b.kind = o.backend;
  b.state_dir = o.state_dir;
  b.wireguard_go = o.wireguard_go;
  // Runs in wireguard-go's supervisor after a restart: the same `up`, peers included.
  b.on_restart = [o]() {
    auto overlay = Overlay::open(o);
    auto r = overlay ? overlay->up(true) : Result<UpReport>(overlay.error());
    if (!r) log::error("restoring ", quote(o.ifname), " after a restart: ", r.error().what());
  };
  auto backend = TRY(make_backend(b));
  Overlay overlay(std::move(o), std::move(backend));
  // What an earlier `up` was given stays unless given again.
  auto saved = TRY(read_state(overlay.state_file()));
  OverlayOptions& opt = overlay.o_;
  if (saved) {
    if (!opt.pod_cidr && saved->contains("podCIDR") && (*saved)["podCIDR"].is_string())
      opt.pod_cidr = IpNet::parse((*saved)["podCIDR"].get<std::string>());
    if (!opt.cluster_cidr && saved->contains("clusterCIDR") && (*saved)["clusterCIDR"].is_string())
      opt.cluster_cidr = IpNet::parse((*saved)["clusterCIDR"].get<std::string>());
    if (!opt.listen_port && saved->contains("listenPort") &&
        (*saved)["listenPort"].is_number_integer())
      opt.listen_port = (*saved)["listenPort"].get<uint16_t>();
    if (!opt.mtu && saved->contains("mtu") && (*saved)["mtu"].is_number_integer())
      opt.mtu = (*saved)["mtu"].get<unsigned>();
  }
  return overlay;
}

Result<Key> Overlay::public_key() {
  auto priv = TRY(load_or_create_private_key(o_.state_dir));
  return public_key_of(priv);
}

Result<unsigned> Overlay::wanted_mtu() {
  if (o_.mtu) return *o_.mtu;
  unsigned underlay = 1500;
  if (o_.underlay_mtu) {
    underlay = *o_.underlay_mtu;
  } else {
    auto nl = TRY(nl::Netlink::open());
    for (const auto& r : TRY(nl.routes(AF_INET))) {
      if (r.dst.prefix() != 0) continue;
      // The default route's device carries the tunnel's packets.
      char name[IF_NAMESIZE] = {};
      if (if_indextoname(static_cast<unsigned>(r.ifindex), name))
        if (auto l = TRY(nl.find_link(name)); l) underlay = l->mtu;
      break;
    }
  }
  if (underlay <= kOverhead + 576)
    return Error(cat("underlay MTU ", underlay, " leaves no room for the tunnel"), EINVAL);
  return underlay - kOverhead;
}

Result<void> Overlay::save(const std::vector<Peer>& peers) {
  Json j = {{"ifname", o_.ifname}};
  if (o_.listen_port) j["listenPort"] = *o_.listen_port;
  if (o_.pod_cidr) j["podCIDR"] = o_.pod_cidr->str();
  if (o_.cluster_cidr) j["clusterCIDR"] = o_.cluster_cidr->str();
  if (o_.mtu) j["mtu"] = *o_.mtu;
  Json list = Json::array();
  for (const auto& p : peers) list.push_back(to_json(p));
  j["peers"] = list;
  return write_file_atomic(state_file(), j.dump(2) + "\n", 0600);
}

Result<std::vector<Peer>> Overlay::saved_peers() {
  auto j = TRY(read_state(state_file()));
  if (!j || !j->contains("peers")) return std::vector<Peer>{};
  return TRY_CTX(parse_peers((*j)["peers"], std::nullopt), "saved peers ", quote(state_file()));
}

Result<void> Overlay::configure_device(unsigned mtu) {
  // Up first: wireguard-go binds its port only on a running device, so a taken port is reported
  // by the set below rather than logged later (the kernel binds at once either way).
  auto nl = TRY(nl::Netlink::open());
  auto link = TRY(nl.get_link(o_.ifname));
  if (link.mtu != mtu) TRY(nl.set_mtu(o_.ifname, mtu));
  if (!link.up) TRY(nl.set_up(o_.ifname));

  auto priv = TRY(load_or_create_private_key(o_.state_dir));
  auto state = TRY(backend_->get());
  DeviceConfig config;
  if (state.private_key != priv) config.private_key = priv;
  if (!o_.listen_port) o_.listen_port = kDefaultListenPort;
  if (state.listen_port != *o_.listen_port) config.listen_port = *o_.listen_port;
  if (config.private_key || config.listen_port)
    TRY_CTX(backend_->set(config), "listen port ", *o_.listen_port);

  // The pod CIDR's network address (/32, flannel's choice) on the device: traffic the node itself
  // sends to a remote pod leaves from an address inside its own pod CIDR, which the peers'
  // AllowedIPs accept (an underlay source would be dropped by the receiving peer).
  if (o_.pod_cidr)
    TRY(nl.add_address(link.index, IpNet(o_.pod_cidr->first(), o_.pod_cidr->addr().bits())));
  return ok();
}

Result<UpReport> Overlay::up(bool restore_peers) {
  if (o_.cluster_cidr) {
    if (!o_.pod_cidr)
      return Error(cat("cluster CIDR ", o_.cluster_cidr->str(),
                       ": masquerading needs this node's pod CIDR (--pod-cidr)"),
                   EINVAL);
    if (o_.cluster_cidr->family() != o_.pod_cidr->family())
      return Error(cat("cluster CIDR ", o_.cluster_cidr->str(), " and pod CIDR ",
                       o_.pod_cidr->str(), ": not the same address family"),
                   EINVAL);
  }
  auto held = TRY(lock(o_));
  auto priv = TRY(load_or_create_private_key(o_.state_dir));
  UpReport report;
  report.public_key = TRY(public_key_of(priv));
  report.backend = backend_->name();
  unsigned mtu = TRY(wanted_mtu());
  report.mtu = mtu;

  report.created = TRY_CTX(backend_->ensure_device(), "bring up ", quote(o_.ifname));
  auto configured = configure_device(mtu);
  // The pod CIDR's traffic leaving the cluster, masqueraded (replacing the rule an earlier `up`
  // put there: still one rule however often this runs).
  if (configured && o_.cluster_cidr) {
    configured = bridge::set_subnet_masquerade(masquerade_network(o_.ifname), kMasqueradeOwner,
                                               o_.ifname, {*o_.pod_cidr}, {*o_.cluster_cidr});
    if (configured) report.masquerade = true;
  }
  if (!configured) {
    // A device made by this call and left half-configured is removed again.
    if (report.created) (void)backend_->remove_device();
    return std::move(configured).error();
  }

  auto peers = TRY(saved_peers());
  TRY(save(peers));
  if ((report.created || restore_peers) && !peers.empty()) {
    held.reset();
    TRY_CTX(apply(peers), "restore the saved peers");
    report.peers_restored = peers.size();
  }
  return report;
}

Result<ApplyReport> Overlay::apply(const std::vector<Peer>& desired) {
  auto held = TRY(lock(o_));
  auto own = TRY(public_key());
  TRY(validate_peers(desired, own));
  if (o_.pod_cidr)
    for (size_t i = 0; i < desired.size(); ++i)
      for (const auto& net : desired[i].allowed_ips)
        if (net.family() == o_.pod_cidr->family() && net.overlaps(*o_.pod_cidr))
          return Error(cat("peers[", i, "]: pod CIDR ", net.str(), " overlaps this node's ",
                           o_.pod_cidr->str()),
                       EINVAL);
  if (!TRY(backend_->device_exists()))
    return Error(cat("WireGuard device ", quote(o_.ifname), " is not up (run `skiff net up`)"),
                 ENODEV);

  auto state = TRY(backend_->get());
  auto changes = plan_peer_changes(state.peers, desired);
  ApplyReport report;
  for (const auto& c : changes) {
    if (c.remove)
      ++report.removed;
    else if (c.create)
      ++report.added;
    else
      ++report.updated;
  }
  report.unchanged = desired.size() - report.added - report.updated;
  if (!changes.empty()) {
    DeviceConfig config;
    config.peers = changes;
    TRY_CTX(backend_->set(config), "apply peers to ", quote(o_.ifname));
  }

  // Routes: one per allowed IP through the device; those of removed peers go.
  auto nl = TRY(nl::Netlink::open());
  int ifindex = TRY(nl.get_link(o_.ifname)).index;
  std::set<IpNet> want;
  for (const auto& p : desired)
    for (const auto& n : p.allowed_ips) want.insert(n.network());
  std::set<IpNet> have;
  for (int family : {AF_INET, AF_INET6})
    for (const auto& r : TRY(nl.routes(family)))
      if (r.ifindex == ifindex && !r.gw) have.insert(r.dst.network());
  for (const auto& n : have) {
    if (want.count(n) || owned_by_device(n)) continue;
    if (TRY(nl.delete_route(n, ifindex))) ++report.routes_removed;
  }
  for (const auto& n : want) {
    if (have.count(n)) continue;
    auto r = nl.add_route(n, std::nullopt, ifindex);
    if (!r && r.error().code() != EEXIST) return std::move(r).error();
    ++report.routes_added;
  }
  TRY(save(desired));
  return report;
}

Result<Status> Overlay::status() {
  Status s;
  s.ifname = o_.ifname;
  s.backend = backend_->name();
  s.public_key = TRY(public_key());
  s.pod_cidr = o_.pod_cidr;
  if (!TRY(backend_->device_exists()))
    return Error(cat("WireGuard device ", quote(o_.ifname), " is not up"), ENODEV);
  s.device = TRY(backend_->get());
  auto nl = TRY(nl::Netlink::open());
  auto link = TRY(nl.get_link(o_.ifname));
  s.mtu = link.mtu;
  for (int family : {AF_INET, AF_INET6})
    for (const auto& r : TRY(nl.routes(family)))
      if (r.ifindex == link.index && !r.gw && !owned_by_device(r.dst))
        s.routes.push_back(r.dst.network());
  std::sort(s.routes.begin(), s.routes.end());
  return s;
}

Result<bool> Overlay::down() {
  auto held = TRY(lock(o_));
  // Tried even without a known cluster CIDR (a state file lost); a host without libnftables
  // then cannot have the rule, so only a failure with one is an error.
  if (auto m =
          bridge::remove_masquerade(masquerade_network(o_.ifname), kMasqueradeOwner, o_.ifname);
      !m && o_.cluster_cidr)
    return std::move(m).error().wrap("remove the pod CIDR's masquerade");
  bool existed = TRY_CTX(backend_->remove_device(), "remove ", quote(o_.ifname));
  if (unlink(state_file().c_str()) < 0 && errno != ENOENT)
    return errno_error("remove ", quote(state_file()));
  return existed;
}

Json to_json(const Status& s) {
  Json j = to_json(s.device, s.public_key);
  j["interface"] = s.ifname;
  j["backend"] = s.backend;
  j["mtu"] = s.mtu;
  if (s.pod_cidr) j["podCIDR"] = s.pod_cidr->str();
  Json routes = Json::array();
  for (const auto& r : s.routes) routes.push_back(r.str());
  j["routes"] = routes;
  return j;
}

}  // namespace skiff::cni::overlay
