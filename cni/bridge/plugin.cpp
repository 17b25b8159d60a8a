#include "cni/bridge/plugin.hpp"

#include <sys/random.h>

#include <algorithm>

#include "cni/bridge/config.hpp"
#include "cni/bridge/ipmasq.hpp"
#include "cni/exec.hpp"
#include "cni/ipam/host_local.hpp"
#include "cni/netlink/netlink.hpp"
#include "cni/netns.hpp"
#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace skiff::cni::bridge {

namespace {

std::string random_veth_name() {
  uint8_t b[4] = {};
  (void)!getrandom(b, sizeof b, 0);
  char buf[16];
  snprintf(buf, sizeof buf, "veth%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
  return buf;
}

// Opens CNI_NETNS; a missing namespace is "unknown container" (code 3).
CniResult<UniqueFd> pod_netns(const std::string& path) {
  auto fd = open_netns(path);
  if (!fd) {
    uint32_t code = fd.error().code() == ENOENT || fd.error().code() == EINVAL
                        ? kErrUnknownContainer
                        : kErrIoFailure;
    return CniError::from(fd.error(), code);
  }
  return std::move(*fd);
}

Result<void> enable_forwarding(bool v4, bool v6) {
  // Per network namespace: these files answer for the netns of the thread that opens them.
  if (v4) TRY(write_file("/proc/sys/net/ipv4/ip_forward", "1"));
  if (v6) TRY(write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1"));
  return ok();
}

// What ADD configures inside the pod, returned for the result.
struct PodSide {
  std::string mac;
  std::vector<Route> routes;
};

Result<PodSide> configure_pod(const std::string& ifname, const NetworkResult& ipam,
                              bool default_gateway) {
  auto nl = TRY(nl::Netlink::open());
  TRY(nl.set_up(ifname));
  auto link = TRY(nl.get_link(ifname));
  for (const auto& ip : ipam.ips) TRY(nl.add_address(link.index, ip.address));
  std::optional<IpAddr> gw4, gw6;
  for (const auto& ip : ipam.ips) {
    auto& gw = ip.address.addr().is_v4() ? gw4 : gw6;
    if (!gw && ip.gateway) gw = ip.gateway;
  }
  PodSide out;
  out.routes = ipam.routes;
  if (default_gateway) {
    for (const auto& gw : {gw4, gw6}) {
      if (!gw) continue;
      IpNet any(IpAddr::from_u128(gw->family(), 0), 0);
      bool have = std::any_of(out.routes.begin(), out.routes.end(),
                              [&](const Route& r) { return r.dst == any; });
      if (!have) out.routes.push_back(Route{any, gw, {}, {}, {}, {}, {}});
    }
  }
  std::vector<IpNet> added;
  for (const auto& r : out.routes) {
    if (std::find(added.begin(), added.end(), r.dst) != added.end()) continue;
    auto gw = r.gw ? r.gw : (r.dst.addr().is_v4() ? gw4 : gw6);
    TRY(nl.add_route(r.dst, gw, link.index));
    added.push_back(r.dst);
  }
  out.mac = link.mac;
  return out;
}

}  // namespace

CniResult<std::string> delegate_ipam(const CmdArgs& args, const std::string& ipam_type,
                                     const std::string& command) {
  if (ipam_type == kBuiltinIpam) {
    // Our own IPAM runs in-process: the same code and lease files as the skiff-ipam binary, the
    // same JSON in and out, minus a fork and exec on every pod start.
    ipam::HostLocalPlugin plugin;
    PluginIo io;
    io.env = {{"CNI_COMMAND", command},  {"CNI_CONTAINERID", args.container_id},
              {"CNI_NETNS", args.netns}, {"CNI_IFNAME", args.ifname},
              {"CNI_ARGS", args.args},   {"CNI_PATH", join(args.path, ":")}};
    io.stdin_data = args.stdin_data;
    if (run_plugin(plugin, kBuiltinIpam, io) != 0)
      return std::move(
          CniError::from_output(io.out).wrap(cat("IPAM ", quote(ipam_type), " ", command)));
    return std::move(io.out);
  }
  auto path = TRY(find_plugin(ipam_type, args.path));
  PluginEnv env{command, args.container_id, args.netns, args.ifname, args.args, args.path};
  auto out = exec_plugin(path, env, args.stdin_data, ExecOptions{std::nullopt, false});
  if (!out) return std::move(out.error().wrap(cat("IPAM plugin ", quote(ipam_type), " ", command)));
  return out;
}

CniResult<NetworkResult> BridgePlugin::add(const CmdArgs& args) {
  auto cfg = TRY(parse_config(args.config));
  if (!valid_ifname(args.ifname))
    return cni_error(kErrInvalidEnvironment, "CNI_IFNAME ", quote(args.ifname),
                     " is not an interface name");
  auto netns = TRY(pod_netns(args.netns));
  auto nl = TRY(nl::Netlink::open());
  auto br = TRY(nl.ensure_bridge(cfg.bridge, cfg.mtu));

  // The veth pair, created with its pod end already inside the netns; a random host name that
  // happens to exist is retried, a CNI_IFNAME that exists in the pod is the caller's error.
  std::string host_veth;
  for (int attempt = 0;; ++attempt) {
    host_veth = random_veth_name();
    auto made = nl.add_veth(host_veth, args.ifname, netns.get(), cfg.mtu, br.index);
    if (made) break;
    if (made.error().code() != EEXIST || attempt == 3) return std::move(made).error();
    auto in_pod = in_netns(netns.get(), [&]() -> Result<std::optional<nl::LinkInfo>> {
      auto pod_nl = TRY(nl::Netlink::open());
      return pod_nl.find_link(args.ifname);
    });
    if (!in_pod) return std::move(in_pod).error();
    if (*in_pod)
      return cni_error(kErrInternal, "container already has an interface named ",
                       quote(args.ifname));
  }
  Defer remove_veth([&] {
    if (auto r = nl.delete_link(host_veth); !r) log::warn("rollback: ", r.error().what());
  });
  auto host = TRY(nl.get_link(host_veth));
  if (cfg.hairpin) TRY(nl.set_hairpin(host.index, true));

  auto ipam_out = TRY(delegate_ipam(args, cfg.ipam_type, "ADD"));
  Defer release_ipam([&] {
    if (auto r = delegate_ipam(args, cfg.ipam_type, "DEL"); !r)
      log::warn("rollback: ", r.error().what());
  });
  auto ipam_json = parse_json(ipam_out, "IPAM result");
  if (!ipam_json) return CniError::from(ipam_json.error(), kErrDecodingFailure);
  auto ipam = TRY(NetworkResult::from_json(*ipam_json));
  if (ipam.ips.empty())
    return cni_error(kErrInternal, "IPAM plugin ", quote(cfg.ipam_type), " returned no IPs");
  if (cfg.is_gateway)
    for (auto& ip : ipam.ips)
      if (!ip.gateway) ip.gateway = ip.address.network().addr().next();

  auto pod = in_netns(netns.get(),
                      [&] { return configure_pod(args.ifname, ipam, cfg.is_default_gateway); });
  if (!pod)
    return std::move(
        pod.error().wrap(cat("configure ", quote(args.ifname), " in ", quote(args.netns))));

  if (cfg.is_gateway) {
    bool v4 = false, v6 = false;
    for (const auto& ip : ipam.ips) {
      TRY(nl.add_address(br.index, IpNet(*ip.gateway, ip.address.prefix())));
      (ip.address.addr().is_v4() ? v4 : v6) = true;
    }
    TRY(enable_forwarding(v4, v6));
  }
  if (cfg.ip_masq) {
    std::vector<IpNet> nets;
    for (const auto& ip : ipam.ips) nets.push_back(ip.address);
    TRY(add_masquerade(cfg.network, args.container_id, args.ifname, nets, cfg.ip_masq_exclude));
  }

  // The bridge takes a port's MAC when it has none of its own: read it after the port joined.
  auto br_now = TRY(nl.get_link(cfg.bridge));
  NetworkResult result;
  result.interfaces.push_back(Interface{cfg.bridge, br_now.mac, {}, {}, {}, {}});
  result.interfaces.push_back(Interface{host_veth, host.mac, {}, {}, {}, {}});
  result.interfaces.push_back(Interface{args.ifname, pod->mac, {}, args.netns, {}, {}});
  result.ips = ipam.ips;
  for (auto& ip : result.ips) ip.interface = 2;
  result.routes = pod->routes;
  result.dns = ipam.dns;
  remove_veth.cancel();
  release_ipam.cancel();
  return result;
}

CniResult<void> BridgePlugin::del(const CmdArgs& args) {
  auto cfg = TRY(parse_config(args.config));
  // Addresses first, like the reference plugin: a lease must not outlive a failed teardown.
  TRY(delegate_ipam(args, cfg.ipam_type, "DEL"));
  if (!args.netns.empty()) {
    auto netns = open_netns(args.netns);
    if (netns) {
      // Deleting the pod end removes the pair (the host end with it).
      auto gone = in_netns(netns->get(), [&]() -> Result<bool> {
        auto nl = TRY(nl::Netlink::open());
        return nl.delete_link(args.ifname);
      });
      if (!gone) return std::move(gone).error();
    } else if (netns.error().code() != ENOENT && netns.error().code() != EINVAL) {
      return CniError::from(netns.error(), kErrIoFailure);
    }
    // A namespace that is gone takes the veth pair with it — but the kernel tears namespaces
    // down asynchronously, so the host end may still be there for a moment: see below.
  }
  // The host ends the cached result names: deleted now so DEL is complete when it returns.
  if (args.config.raw.contains("prevResult")) {
    auto prev = NetworkResult::from_json(args.config.raw["prevResult"]);
    if (prev) {
      auto nl = TRY(nl::Netlink::open());
      auto br = TRY(nl.find_link(cfg.bridge));
      for (const auto& i : prev->interfaces) {
        if (!i.sandbox.empty() || i.name == cfg.bridge) continue;
        auto host = TRY(nl.find_link(i.name));
        // Only a veth still on our bridge: the name may not be ours any more.
        if (host && host->kind == "veth" && br && host->master == br->index)
          TRY(nl.delete_link(i.name));
      }
    }
  }
  if (cfg.ip_masq) TRY(remove_masquerade(cfg.network, args.container_id, args.ifname));
  return {};
}

CniResult<void> BridgePlugin::check(const CmdArgs& args) {
  auto cfg = TRY(parse_config(args.config));
  if (!args.config.raw.contains("prevResult"))
    return cni_error(kErrInvalidNetworkConfig, "CHECK needs prevResult");
  auto prev = TRY(NetworkResult::from_json(args.config.raw["prevResult"]));
  TRY(delegate_ipam(args, cfg.ipam_type, "CHECK"));
  auto netns = TRY(pod_netns(args.netns));
  auto nl = TRY(nl::Netlink::open());
  auto br = TRY(nl.find_link(cfg.bridge));
  if (!br || br->kind != "bridge")
    return cni_error(kErrInternal, "bridge ", quote(cfg.bridge), " is missing");
  auto addrs = in_netns(netns.get(), [&]() -> Result<std::optional<std::vector<IpNet>>> {
    auto pod_nl = TRY(nl::Netlink::open());
    auto link = TRY(pod_nl.find_link(args.ifname));
    if (!link) return std::optional<std::vector<IpNet>>();
    return std::optional<std::vector<IpNet>>(TRY(pod_nl.addresses(link->index)));
  });
  if (!addrs) return std::move(addrs).error();
  if (!*addrs)
    return cni_error(kErrInternal, "interface ", quote(args.ifname), " is missing in ",
                     quote(args.netns));
  for (const auto& ip : prev.ips)
    if (std::find((*addrs)->begin(), (*addrs)->end(), ip.address) == (*addrs)->end())
      return cni_error(kErrInternal, "address ", ip.address.str(), " is missing on ",
                       quote(args.ifname));
  for (const auto& i : prev.interfaces) {
    if (!i.sandbox.empty() || i.name == cfg.bridge) continue;
    auto host = TRY(nl.find_link(i.name));
    if (!host || host->master != br->index)
      return cni_error(kErrInternal, "host veth ", quote(i.name), " is not on bridge ",
                       quote(cfg.bridge));
  }
  if (cfg.ip_masq && !TRY(masquerade_table_exists(cfg.network)))
    return cni_error(kErrInternal, "masquerading table for ", quote(cfg.network), " is missing");
  return {};
}

CniResult<void> BridgePlugin::status(const CmdArgs& args) {
  auto cfg = TRY(parse_config(args.config));
  TRY(delegate_ipam(args, cfg.ipam_type, "STATUS"));
  return {};
}

CniResult<void> BridgePlugin::gc(const CmdArgs& args) {
  auto cfg = TRY(parse_config(args.config));
  auto valid = TRY(valid_attachments(args.config.raw));
  TRY(delegate_ipam(args, cfg.ipam_type, "GC"));
  if (cfg.ip_masq) TRY(gc_masquerade(cfg.network, valid));
  return {};
}

}  // namespace skiff::cni::bridge
