#include "cni/overlay/genl.hpp"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include <algorithm>
#include <cstring>

namespace skiff::cni::overlay::genl {

namespace {

Error put_error(std::string_view what) { return error("wireguard genl: cannot add ", what); }

Result<void> put_endpoint(nl_msg* m, const Endpoint& e) {
  if (e.addr.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(e.port);
    memcpy(&sin.sin_addr, e.addr.bytes(), 4);
    if (nla_put(m, WGPEER_A_ENDPOINT, sizeof sin, &sin) < 0) return put_error("endpoint");
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(e.port);
    memcpy(&sin6.sin6_addr, e.addr.bytes(), 16);
    if (nla_put(m, WGPEER_A_ENDPOINT, sizeof sin6, &sin6) < 0) return put_error("endpoint");
  }
  return ok();
}

Result<void> put_peer(nl_msg* m, const PeerChange& p) {
  nlattr* peer = nla_nest_start(m, NLA_F_NESTED | 0);
  if (!peer) return put_error("peer");
  if (nla_put(m, WGPEER_A_PUBLIC_KEY, Key::kSize, p.public_key.data()) < 0)
    return put_error("public key");
  uint32_t flags = 0;
  if (p.remove) flags |= WGPEER_F_REMOVE_ME;
  if (!p.remove && !p.create) flags |= WGPEER_F_UPDATE_ONLY;
  if (!p.remove && p.replace_allowed_ips) flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
  if (flags && nla_put_u32(m, WGPEER_A_FLAGS, flags) < 0) return put_error("peer flags");
  if (!p.remove) {
    if (p.endpoint) TRY(put_endpoint(m, *p.endpoint));
    if (p.persistent_keepalive &&
        nla_put_u16(m, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, *p.persistent_keepalive) < 0)
      return put_error("keepalive");
    if (p.replace_allowed_ips) {
      nlattr* ips = nla_nest_start(m, NLA_F_NESTED | WGPEER_A_ALLOWEDIPS);
      if (!ips) return put_error("allowed IPs");
      for (const auto& net : p.allowed_ips) {
        nlattr* ip = nla_nest_start(m, NLA_F_NESTED | 0);
        if (!ip || nla_put_u16(m, WGALLOWEDIP_A_FAMILY, static_cast<uint16_t>(net.family())) < 0 ||
            nla_put(m, WGALLOWEDIP_A_IPADDR, static_cast<int>(net.addr().size()),
                    net.addr().bytes()) < 0 ||
            nla_put_u8(m, WGALLOWEDIP_A_CIDR_MASK, static_cast<uint8_t>(net.prefix())) < 0)
          return put_error("allowed IP");
        nla_nest_end(m, ip);
      }
      nla_nest_end(m, ips);
    }
  }
  nla_nest_end(m, peer);
  return ok();
}

Result<MsgPtr> new_message(int family_id, uint8_t cmd, int flags) {
  // wg(8) splits peer lists over messages of a page; our peer sets (one per node) fit in 64 KiB.
  MsgPtr m(nlmsg_alloc_size(65536));
  if (!m) return error("nlmsg_alloc: out of memory");
  if (!genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_id, 0, flags, cmd, WG_GENL_VERSION))
    return error("genlmsg_put failed");
  return m;
}

Result<void> parse_allowed_ips(nlattr* list, PeerStatus& p) {
  nlattr* ip;
  int rem;
  nla_for_each_nested(ip, list, rem) {
    nlattr* a[WGALLOWEDIP_A_MAX + 1];
    if (nla_parse_nested(a, WGALLOWEDIP_A_MAX, ip, nullptr) < 0)
      return error("wireguard genl: malformed allowed IP");
    if (!a[WGALLOWEDIP_A_FAMILY] || !a[WGALLOWEDIP_A_IPADDR] || !a[WGALLOWEDIP_A_CIDR_MASK])
      continue;
    int family = nla_get_u16(a[WGALLOWEDIP_A_FAMILY]);
    size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
    if (!want || static_cast<size_t>(nla_len(a[WGALLOWEDIP_A_IPADDR])) != want)
      return error("wireguard genl: allowed IP of family ", family, " with a bad address");
    p.allowed_ips.push_back(IpNet(IpAddr::from_bytes(family, nla_data(a[WGALLOWEDIP_A_IPADDR])),
                                  nla_get_u8(a[WGALLOWEDIP_A_CIDR_MASK]))
                                .network());
  }
  return ok();
}

Result<void> parse_peer(nlattr* attr, DeviceState& state) {
  nlattr* a[WGPEER_A_MAX + 1];
  if (nla_parse_nested(a, WGPEER_A_MAX, attr, nullptr) < 0)
    return error("wireguard genl: malformed peer");
  if (!a[WGPEER_A_PUBLIC_KEY] || nla_len(a[WGPEER_A_PUBLIC_KEY]) != Key::kSize)
    return error("wireguard genl: peer without a 32-byte public key");
  std::array<uint8_t, Key::kSize> raw{};
  memcpy(raw.data(), nla_data(a[WGPEER_A_PUBLIC_KEY]), Key::kSize);
  Key key(raw);
  auto it = std::find_if(state.peers.begin(), state.peers.end(),
                         [&](const PeerStatus& p) { return p.public_key == key; });
  if (it == state.peers.end()) {
    state.peers.emplace_back();
    it = state.peers.end() - 1;
    it->public_key = key;
  }
  PeerStatus& p = *it;
  if (nlattr* e = a[WGPEER_A_ENDPOINT]) {
    const auto* sa = static_cast<const sockaddr*>(nla_data(e));
    if (nla_len(e) >= static_cast<int>(sizeof(sockaddr_in)) && sa->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
      p.endpoint = Endpoint{IpAddr::from_bytes(AF_INET, &sin->sin_addr), ntohs(sin->sin_port)};
    } else if (nla_len(e) >= static_cast<int>(sizeof(sockaddr_in6)) && sa->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
      p.endpoint = Endpoint{IpAddr::from_bytes(AF_INET6, &sin6->sin6_addr), ntohs(sin6->sin6_port)};
    }
  }
  if (a[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])
    p.persistent_keepalive = nla_get_u16(a[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
  if (nlattr* t = a[WGPEER_A_LAST_HANDSHAKE_TIME];
      t && nla_len(t) == static_cast<int>(sizeof(__kernel_timespec))) {
    const auto* ts = static_cast<const __kernel_timespec*>(nla_data(t));
    p.last_handshake_sec = ts->tv_sec;
    p.last_handshake_nsec = ts->tv_nsec;
  }
  if (a[WGPEER_A_RX_BYTES]) p.rx_bytes = nla_get_u64(a[WGPEER_A_RX_BYTES]);
  if (a[WGPEER_A_TX_BYTES]) p.tx_bytes = nla_get_u64(a[WGPEER_A_TX_BYTES]);
  if (a[WGPEER_A_ALLOWEDIPS]) TRY(parse_allowed_ips(a[WGPEER_A_ALLOWEDIPS], p));
  std::sort(p.allowed_ips.begin(), p.allowed_ips.end());
  return ok();
}

}  // namespace

Result<MsgPtr> build_set_device(int family_id, const std::string& ifname,
                                const DeviceConfig& config) {
  auto m = TRY(new_message(family_id, WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK));
  if (nla_put_string(m.get(), WGDEVICE_A_IFNAME, ifname.c_str()) < 0) return put_error("ifname");
  if (config.private_key &&
      nla_put(m.get(), WGDEVICE_A_PRIVATE_KEY, Key::kSize, config.private_key->data()) < 0)
    return put_error("private key");
  if (config.listen_port && nla_put_u16(m.get(), WGDEVICE_A_LISTEN_PORT, *config.listen_port) < 0)
    return put_error("listen port");
  if (!config.peers.empty()) {
    nlattr* peers = nla_nest_start(m.get(), NLA_F_NESTED | WGDEVICE_A_PEERS);
    if (!peers) return put_error("peers");
    for (const auto& p : config.peers) TRY(put_peer(m.get(), p));
    nla_nest_end(m.get(), peers);
  }
  return m;
}

Result<MsgPtr> build_get_device(int family_id, const std::string& ifname) {
  auto m = TRY(new_message(family_id, WG_CMD_GET_DEVICE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP));
  if (nla_put_string(m.get(), WGDEVICE_A_IFNAME, ifname.c_str()) < 0) return put_error("ifname");
  return m;
}

Result<void> parse_device(const nlmsghdr* hdr, DeviceState& state) {
  nlattr* a[WGDEVICE_A_MAX + 1];
  if (genlmsg_parse(const_cast<nlmsghdr*>(hdr), 0, a, WGDEVICE_A_MAX, nullptr) < 0)
    return error("wireguard genl: malformed device message");
  if (nlattr* k = a[WGDEVICE_A_PRIVATE_KEY]; k && nla_len(k) == Key::kSize) {
    std::array<uint8_t, Key::kSize> raw{};
    memcpy(raw.data(), nla_data(k), Key::kSize);
    state.private_key = Key(raw);
  }
  if (a[WGDEVICE_A_LISTEN_PORT]) state.listen_port = nla_get_u16(a[WGDEVICE_A_LISTEN_PORT]);
  if (a[WGDEVICE_A_PEERS]) {
    nlattr* peer;
    int rem;
    nla_for_each_nested(peer, a[WGDEVICE_A_PEERS], rem) TRY(parse_peer(peer, state));
  }
  return ok();
}

}  // namespace skiff::cni::overlay::genl
