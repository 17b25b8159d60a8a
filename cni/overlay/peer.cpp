#include "cni/overlay/peer.hpp"

#include <algorithm>
#include <map>

namespace skiff::cni::overlay {

Result<Endpoint> Endpoint::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error(cat("endpoint ", quote(text), ": ", why), EINVAL);
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("want host:port");
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    return bad("an IPv6 address needs brackets: [addr]:port");
  auto addr = IpAddr::parse(host);
  if (!addr) return bad("host is not an IP address");
  auto port = parse_int<uint32_t>(text.substr(colon + 1));
  if (!port || *port == 0 || *port > 65535) return bad("port is not in 1..65535");
  return Endpoint{*addr, static_cast<uint16_t>(*port)};
}

std::string Endpoint::str() const {
  return addr.is_v4() ? cat(addr.str(), ":", port) : cat("[", addr.str(), "]:", port);
}

namespace {

void normalize(std::vector<IpNet>& nets) {
  for (auto& n : nets) n = n.network();
  std::sort(nets.begin(), nets.end());
  nets.erase(std::unique(nets.begin(), nets.end()), nets.end());
}

Result<IpNet> parse_cidr(const Json& j, const std::string& path) {
  if (!j.is_string()) return Error(cat(path, ": expected string, got ", json_type_name(j)), EINVAL);
  auto net = IpNet::parse(j.get<std::string>());
  if (!net) return Error(cat(path, ": ", quote(j.get<std::string>()), " is not a CIDR"), EINVAL);
  return net->network();
}

Result<Peer> parse_peer(const Json& j, const std::string& path) {
  if (!j.is_object()) return Error(cat(path, ": expected object, got ", json_type_name(j)), EINVAL);
  Peer p;
  auto key = j.find("publicKey");
  if (key == j.end() || !key->is_string())
    return Error(cat(path, ".publicKey: required string"), EINVAL);
  p.public_key = TRY_CTX(Key::from_base64(key->get<std::string>()), path, ".publicKey");
  if (auto e = j.find("endpoint"); e != j.end() && !e->is_null()) {
    if (!e->is_string()) return Error(cat(path, ".endpoint: expected string"), EINVAL);
    p.endpoint = TRY_CTX(Endpoint::parse(e->get<std::string>()), path, ".endpoint");
  }
  if (auto c = j.find("podCIDR"); c != j.end())
    p.allowed_ips.push_back(TRY(parse_cidr(*c, path + ".podCIDR")));
  if (auto a = j.find("allowedIPs"); a != j.end()) {
    if (!a->is_array()) return Error(cat(path, ".allowedIPs: expected array"), EINVAL);
    for (size_t i = 0; i < a->size(); ++i)
      p.allowed_ips.push_back(TRY(parse_cidr((*a)[i], cat(path, ".allowedIPs[", i, "]"))));
  }
  if (p.allowed_ips.empty())
    return Error(cat(path, ": needs podCIDR or allowedIPs (the peer's pod CIDR)"), EINVAL);
  if (auto k = j.find("persistentKeepalive"); k != j.end()) {
    if (!k->is_number_integer() || k->get<int64_t>() < 0 || k->get<int64_t>() > 65535)
      return Error(cat(path, ".persistentKeepalive: want seconds in 0..65535"), EINVAL);
    p.persistent_keepalive = static_cast<uint16_t>(k->get<uint64_t>());
  }
  normalize(p.allowed_ips);
  return p;
}

}  // namespace

Result<void> validate_peers(const std::vector<Peer>& peers,
                            const std::optional<Key>& own_public_key) {
  std::map<Key, size_t> seen;
  for (size_t i = 0; i < peers.size(); ++i) {
    const Peer& p = peers[i];
    if (p.public_key.is_zero()) return Error(cat("peers[", i, "].publicKey: all zero"), EINVAL);
    if (own_public_key && p.public_key == *own_public_key)
      return Error(cat("peers[", i, "].publicKey: is this node's own key"), EINVAL);
    auto [it, fresh] = seen.emplace(p.public_key, i);
    if (!fresh)
      return Error(cat("peers[", i, "].publicKey: duplicate of peers[", it->second, "] (",
                       p.public_key.base64(), ")"),
                   EINVAL);
  }
  // AllowedIPs route by longest prefix: two peers claiming overlapping ranges would silently
  // steal each other's pods.
  for (size_t i = 0; i < peers.size(); ++i)
    for (size_t j = i + 1; j < peers.size(); ++j)
      for (const auto& a : peers[i].allowed_ips)
        for (const auto& b : peers[j].allowed_ips)
          if (a.family() == b.family() && a.overlaps(b))
            return Error(cat("peers[", j, "]: pod CIDR ", b.str(), " overlaps ", a.str(),
                             " of peers[", i, "]"),
                         EINVAL);
  return ok();
}

Result<std::vector<Peer>> parse_peers(const Json& doc, const std::optional<Key>& own_public_key) {
  const Json* list = &doc;
  if (doc.is_object()) {
    auto it = doc.find("peers");
    if (it == doc.end()) return Error("peer set: missing \"peers\"", EINVAL);
    list = &*it;
  }
  if (!list->is_array())
    return Error(cat("peers: expected array, got ", json_type_name(*list)), EINVAL);
  std::vector<Peer> out;
  for (size_t i = 0; i < list->size(); ++i)
    out.push_back(TRY(parse_peer((*list)[i], cat("peers[", i, "]"))));
  TRY(validate_peers(out, own_public_key));
  return out;
}

Json to_json(const Peer& p) {
  Json j = {{"publicKey", p.public_key.base64()}};
  if (p.endpoint) j["endpoint"] = p.endpoint->str();
  Json ips = Json::array();
  for (const auto& n : p.allowed_ips) ips.push_back(n.str());
  j["allowedIPs"] = ips;
  j["persistentKeepalive"] = p.persistent_keepalive;
  return j;
}

Json to_json(const DeviceState& s, const std::optional<Key>& public_key) {
  Json j = {{"listenPort", s.listen_port}};
  if (public_key) j["publicKey"] = public_key->base64();
  Json peers = Json::array();
  for (const auto& p : s.peers) {
    Json pj = to_json(static_cast<const Peer&>(p));
    pj["latestHandshake"] = p.last_handshake_sec;
    pj["rxBytes"] = p.rx_bytes;
    pj["txBytes"] = p.tx_bytes;
    peers.push_back(pj);
  }
  j["peers"] = peers;
  return j;
}

std::vector<PeerChange> plan_peer_changes(const std::vector<PeerStatus>& current,
                                          const std::vector<Peer>& desired) {
  std::map<Key, const PeerStatus*> have;
  for (const auto& p : current) have[p.public_key] = &p;
  std::vector<PeerChange> out;
  std::map<Key, bool> wanted;
  for (const auto& want : desired) {
    wanted[want.public_key] = true;
    std::vector<IpNet> want_ips = want.allowed_ips;
    normalize(want_ips);
    auto it = have.find(want.public_key);
    if (it == have.end()) {
      PeerChange c;
      c.public_key = want.public_key;
      c.create = true;
      c.endpoint = want.endpoint;
      c.persistent_keepalive = want.persistent_keepalive;
      c.replace_allowed_ips = true;
      c.allowed_ips = want_ips;
      out.push_back(std::move(c));
      continue;
    }
    const PeerStatus& cur = *it->second;
    std::vector<IpNet> cur_ips = cur.allowed_ips;
    normalize(cur_ips);
    PeerChange c;
    c.public_key = want.public_key;
    bool changed = false;
    // A peer without a configured endpoint keeps whatever it roamed to.
    if (want.endpoint && want.endpoint != cur.endpoint) {
      c.endpoint = want.endpoint;
      changed = true;
    }
    if (want.persistent_keepalive != cur.persistent_keepalive) {
      c.persistent_keepalive = want.persistent_keepalive;
      changed = true;
    }
    if (want_ips != cur_ips) {
      c.replace_allowed_ips = true;
      c.allowed_ips = want_ips;
      changed = true;
    }
    if (changed) out.push_back(std::move(c));
  }
  for (const auto& cur : current) {
    if (wanted.count(cur.public_key)) continue;
    PeerChange c;
    c.public_key = cur.public_key;
    c.remove = true;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace skiff::cni::overlay
