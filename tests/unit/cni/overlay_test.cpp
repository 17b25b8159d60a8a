// The overlay's backend-free parts: keys (RFC 7748 vector, base64/hex, the 0600 key file), peer
// sets (validation with field paths), the diff plan, the wireguard-go UAPI text and the kernel's
// generic-netlink messages checked byte by byte against <linux/wireguard.h>.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <netlink/genl/genl.h>
#include <sys/stat.h>

#include <cstring>

#include "cni/overlay/backend.hpp"
#include "cni/overlay/genl.hpp"
#include "cni/overlay/key.hpp"
#include "cni/overlay/peer.hpp"
#include "cni/overlay/uapi.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::cni::overlay {
namespace {

Key hex_key(std::string_view hex) {
  auto k = Key::from_hex(hex);
  EXPECT_TRUE(k.ok());
  return *k;
}

Key key_of(uint8_t fill) {
  std::array<uint8_t, Key::kSize> b{};
  b.fill(fill);
  return Key(b);
}

IpNet net(std::string_view s) { return *IpNet::parse(s); }

TEST(OverlayKey, X25519MatchesRfc7748AndRoundTrips) {
  // RFC 7748 section 6.1, Alice.
  Key priv = hex_key("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  auto pub = public_key_of(priv);
  ASSERT_TRUE(pub.ok()) << pub.error().what();
  EXPECT_EQ(pub->hex(), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  auto back = Key::from_base64(pub->base64());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *pub);
  EXPECT_EQ(pub->base64().size(), 44u);

  auto a = generate_private_key(), b = generate_private_key();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->data()[0] & 7, 0);  // clamped like wg genkey
  EXPECT_EQ(a->data()[31] & 192, 64);
}

TEST(OverlayKey, BadEncodingsAreRefusedWithTheReason) {
  auto short_key = Key::from_base64("abc");
  ASSERT_FALSE(short_key.ok());
  EXPECT_NE(short_key.error().what().find("44 characters"), std::string::npos);
  std::string good = key_of(7).base64();
  std::string bad_char = good;
  bad_char[5] = '*';
  auto e = Key::from_base64(bad_char);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().what().find("position 5"), std::string::npos);
  // 33 bytes of base64 is 44 characters without padding: not a key.
  EXPECT_FALSE(Key::from_base64(std::string(44, 'A')).ok());
  // key_of(7): last byte 0x07 -> final character 'c' (0b000111_00); 'd' sets a spare bit.
  ASSERT_EQ(good[42], 'c');
  std::string noncanonical = good;
  noncanonical[42] = 'd';
  EXPECT_FALSE(Key::from_base64(noncanonical).ok());
  EXPECT_FALSE(Key::from_hex("zz").ok());
  EXPECT_FALSE(Key::from_hex(std::string(64, 'g')).ok());
}

TEST(OverlayKey, NodeKeyIsCreatedOnce0600AndKept) {
  skiff::test::TempDir dir("skiff-wgkey");
  std::string kdir = dir.path() + "/wireguard";
  auto first = load_or_create_private_key(kdir);
  ASSERT_TRUE(first.ok()) << first.error().what();
  struct stat st {};
  ASSERT_EQ(stat((kdir + "/private.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(kdir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto second = load_or_create_private_key(kdir);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(skiff::test::read_file(kdir + "/private.key"), first->base64() + "\n");

  // A key others can read is refused, as is a damaged one; neither is replaced.
  chmod((kdir + "/private.key").c_str(), 0644);
  auto open_mode = load_or_create_private_key(kdir);
  ASSERT_FALSE(open_mode.ok());
  EXPECT_NE(open_mode.error().what().find("0644"), std::string::npos);
  chmod((kdir + "/private.key").c_str(), 0600);
  skiff::test::write_file(kdir + "/private.key", "garbage\n");
  chmod((kdir + "/private.key").c_str(), 0600);
  auto damaged = load_or_create_private_key(kdir);
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.error().what().find("private.key"), std::string::npos);
  EXPECT_EQ(skiff::test::read_file(kdir + "/private.key"), "garbage\n");
}

TEST(OverlayPeers, EndpointsParse) {
  EXPECT_EQ(Endpoint::parse("10.0.0.2:51820")->str(), "10.0.0.2:51820");
  EXPECT_EQ(Endpoint::parse("[fd00::2]:7")->str(), "[fd00::2]:7");
  EXPECT_FALSE(Endpoint::parse("fd00::2:7").ok());
  EXPECT_FALSE(Endpoint::parse("10.0.0.2").ok());
  EXPECT_FALSE(Endpoint::parse("10.0.0.2:0").ok());
  EXPECT_FALSE(Endpoint::parse("10.0.0.2:70000").ok());
  EXPECT_FALSE(Endpoint::parse("node2:51820").ok());
}

Json peer_json(const Key& k, const std::string& cidr, const std::string& endpoint = "") {
  Json j = {{"publicKey", k.base64()}, {"podCIDR", cidr}};
  if (!endpoint.empty()) j["endpoint"] = endpoint;
  return j;
}

TEST(OverlayPeers, ParseAndValidateWithFieldPaths) {
  Json doc = {{"peers",
               {peer_json(key_of(1), "10.244.2.7/24", "10.9.0.2:51820"),
                {{"publicKey", key_of(2).base64()},
                 {"allowedIPs", {"10.244.3.0/24", "fd44:3::/64"}},
                 {"persistentKeepalive", 25}}}}};
  auto peers = parse_peers(doc, std::nullopt);
  ASSERT_TRUE(peers.ok()) << peers.error().what();
  ASSERT_EQ(peers->size(), 2u);
  EXPECT_EQ((*peers)[0].allowed_ips, std::vector<IpNet>{net("10.244.2.0/24")});  // host bits off
  EXPECT_EQ((*peers)[0].endpoint->str(), "10.9.0.2:51820");
  EXPECT_EQ((*peers)[1].persistent_keepalive, 25);
  EXPECT_EQ((*peers)[1].allowed_ips.size(), 2u);

  auto msg = [](const Json& d, const std::optional<Key>& own = std::nullopt) {
    auto r = parse_peers(d, own);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().what();
  };
  EXPECT_NE(msg({{"peers",
                  {peer_json(key_of(1), "10.244.2.0/24"), peer_json(key_of(1), "10.244.3.0/24")}}})
                .find("peers[1].publicKey: duplicate of peers[0]"),
            std::string::npos);
  EXPECT_NE(msg({{"peers",
                  {peer_json(key_of(1), "10.244.0.0/16"), peer_json(key_of(2), "10.244.3.0/24")}}})
                .find("peers[1]: pod CIDR 10.244.3.0/24 overlaps 10.244.0.0/16"),
            std::string::npos);
  EXPECT_NE(msg({{"peers", {{{"publicKey", "not-a-key"}, {"podCIDR", "10.1.0.0/24"}}}}})
                .find("peers[0].publicKey"),
            std::string::npos);
  EXPECT_NE(msg({{"peers", {{{"publicKey", key_of(1).base64()}}}}}).find("needs podCIDR"),
            std::string::npos);
  EXPECT_NE(msg({{"peers", {peer_json(key_of(1), "10.1.0.0/33")}}}).find("peers[0].podCIDR"),
            std::string::npos);
  EXPECT_NE(
      msg({{"peers", {peer_json(key_of(1), "10.1.0.0/24", "10.0.0.1")}}}).find("peers[0].endpoint"),
      std::string::npos);
  EXPECT_NE(msg({{"peers", {peer_json(key_of(1), "10.1.0.0/24")}}}, key_of(1)).find("own key"),
            std::string::npos);
  EXPECT_NE(msg(Json::object()).find("missing \"peers\""), std::string::npos);
}

PeerStatus status(const Key& k, const std::string& endpoint, std::vector<IpNet> ips,
                  uint16_t keepalive = 0) {
  PeerStatus s;
  s.public_key = k;
  if (!endpoint.empty()) s.endpoint = *Endpoint::parse(endpoint);
  s.allowed_ips = std::move(ips);
  s.persistent_keepalive = keepalive;
  s.last_handshake_sec = 1700000000;
  return s;
}

Peer want(const Key& k, const std::string& endpoint, std::vector<IpNet> ips,
          uint16_t keepalive = 0) {
  Peer p;
  p.public_key = k;
  if (!endpoint.empty()) p.endpoint = *Endpoint::parse(endpoint);
  p.allowed_ips = std::move(ips);
  p.persistent_keepalive = keepalive;
  return p;
}

TEST(OverlayPlan, OnlyDifferencesAreChanged) {
  std::vector<PeerStatus> current = {
      status(key_of(1), "10.9.0.1:51820", {net("10.244.1.0/24")}),
      status(key_of(2), "10.9.0.2:51820", {net("10.244.2.0/24")}),
      status(key_of(3), "10.9.0.3:51820", {net("10.244.3.0/24")}),
      status(key_of(4), "10.9.0.4:51820", {net("10.244.4.0/24")}),
  };
  // Same set: no change at all.
  std::vector<Peer> same;
  for (const auto& c : current) same.push_back(static_cast<const Peer&>(c));
  EXPECT_TRUE(plan_peer_changes(current, same).empty());

  std::vector<Peer> desired = {
      want(key_of(1), "10.9.0.1:51820", {net("10.244.1.0/24")}),        // unchanged
      want(key_of(2), "10.9.0.22:51820", {net("10.244.2.0/24")}, 25),   // endpoint + keepalive
      want(key_of(3), "", {net("10.244.3.0/24"), net("fd44:3::/64")}),  // allowed IPs only
      want(key_of(5), "10.9.0.5:51820", {net("10.244.5.0/24")}),        // new
  };                                                                    // key 4 gone
  auto plan = plan_peer_changes(current, desired);
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].public_key, key_of(2));
  EXPECT_FALSE(plan[0].create || plan[0].remove || plan[0].replace_allowed_ips);
  EXPECT_EQ(plan[0].endpoint->str(), "10.9.0.22:51820");
  EXPECT_EQ(plan[0].persistent_keepalive, 25);
  EXPECT_EQ(plan[1].public_key, key_of(3));
  EXPECT_FALSE(plan[1].endpoint.has_value());  // no endpoint wanted: the roamed one stays
  EXPECT_FALSE(plan[1].persistent_keepalive.has_value());
  EXPECT_TRUE(plan[1].replace_allowed_ips);
  EXPECT_EQ(plan[1].allowed_ips.size(), 2u);
  EXPECT_EQ(plan[2].public_key, key_of(5));
  EXPECT_TRUE(plan[2].create);
  EXPECT_TRUE(plan[2].replace_allowed_ips);
  EXPECT_EQ(plan[3].public_key, key_of(4));
  EXPECT_TRUE(plan[3].remove);
}

TEST(OverlayUapi, SetRequestAndGetAnswer) {
  DeviceConfig c;
  c.private_key = key_of(0xab);
  c.listen_port = 51820;
  PeerChange add;
  add.public_key = key_of(1);
  add.create = true;
  add.endpoint = *Endpoint::parse("10.9.0.1:51820");
  add.persistent_keepalive = 25;
  add.replace_allowed_ips = true;
  add.allowed_ips = {net("10.244.1.0/24")};
  PeerChange update;
  update.public_key = key_of(2);
  update.endpoint = *Endpoint::parse("[fd00::2]:51821");
  PeerChange remove;
  remove.public_key = key_of(3);
  remove.remove = true;
  c.peers = {add, update, remove};
  EXPECT_EQ(uapi::format_set(c), "set=1\nprivate_key=" + key_of(0xab).hex() +
                                     "\nlisten_port=51820\n"
                                     "public_key=" +
                                     key_of(1).hex() +
                                     "\n"
                                     "endpoint=10.9.0.1:51820\npersistent_keepalive_interval=25\n"
                                     "replace_allowed_ips=true\nallowed_ip=10.244.1.0/24\n"
                                     "public_key=" +
                                     key_of(2).hex() +
                                     "\nupdate_only=true\n"
                                     "endpoint=[fd00::2]:51821\n"
                                     "public_key=" +
                                     key_of(3).hex() + "\nremove=true\n\n");

  std::string answer = "private_key=" + key_of(0xab).hex() +
                       "\nlisten_port=51820\n"
                       "public_key=" +
                       key_of(1).hex() + "\npreshared_key=" + std::string(64, '0') +
                       "\nprotocol_version=1\nendpoint=10.9.0.1:51820\n"
                       "last_handshake_time_sec=1700000001\nlast_handshake_time_nsec=5\n"
                       "tx_bytes=100\nrx_bytes=200\npersistent_keepalive_interval=25\n"
                       "allowed_ip=fd44:1::/64\nallowed_ip=10.244.1.0/24\n"
                       "public_key=" +
                       key_of(2).hex() + "\npersistent_keepalive_interval=0\nerrno=0\n\n";
  auto s = uapi::parse_get(answer);
  ASSERT_TRUE(s.ok()) << s.error().what();
  EXPECT_EQ(*s->private_key, key_of(0xab));
  EXPECT_EQ(s->listen_port, 51820);
  ASSERT_EQ(s->peers.size(), 2u);
  EXPECT_EQ(s->peers[0].endpoint->str(), "10.9.0.1:51820");
  EXPECT_EQ(s->peers[0].last_handshake_sec, 1700000001);
  EXPECT_EQ(s->peers[0].rx_bytes, 200u);
  EXPECT_EQ(s->peers[0].tx_bytes, 100u);
  EXPECT_EQ(s->peers[0].persistent_keepalive, 25);
  EXPECT_EQ(s->peers[0].allowed_ips,
            (std::vector<IpNet>{net("10.244.1.0/24"), net("fd44:1::/64")}));
  EXPECT_FALSE(s->peers[1].endpoint.has_value());

  auto failed = uapi::parse_get("errno=2\n\n");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), 2);
  EXPECT_TRUE(uapi::check_set_answer("errno=0\n\n").ok());
  EXPECT_EQ(uapi::check_set_answer("errno=22\n\n").error().code(), 22);
}

// The uapi layout, written independently of libnl: an attribute is a 4-byte header (length
// including the header, type) and its payload padded to 4 bytes.
struct Bytes {
  std::vector<uint8_t> v;
  void attr(uint16_t type, const void* data, size_t len) {
    uint16_t total = static_cast<uint16_t>(4 + len);
    append(&total, 2);
    append(&type, 2);
    append(data, len);
    v.resize((v.size() + 3) & ~size_t{3}, 0);
  }
  void u8(uint16_t t, uint8_t x) { attr(t, &x, 1); }
  void u16(uint16_t t, uint16_t x) { attr(t, &x, 2); }
  void u32(uint16_t t, uint32_t x) { attr(t, &x, 4); }
  void nest(uint16_t type, const Bytes& inner) {
    attr(NLA_F_NESTED | type, inner.v.data(), inner.v.size());
  }
  void append(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    v.insert(v.end(), b, b + n);
  }
};

TEST(OverlayGenl, SetDeviceMatchesTheUapiLayoutByteForByte) {
  DeviceConfig c;
  c.private_key = key_of(0x11);
  c.listen_port = 51820;
  PeerChange add;
  add.public_key = key_of(0x22);
  add.create = true;
  add.endpoint = *Endpoint::parse("10.9.0.2:51820");
  add.persistent_keepalive = 25;
  add.replace_allowed_ips = true;
  add.allowed_ips = {net("10.244.2.0/24")};
  PeerChange remove;
  remove.public_key = key_of(0x33);
  remove.remove = true;
  c.peers = {add, remove};
  auto msg = genl::build_set_device(0x1d, "skwg0", c);
  ASSERT_TRUE(msg.ok()) << msg.error().what();
  nlmsghdr* hdr = nlmsg_hdr(msg->get());
  EXPECT_EQ(hdr->nlmsg_type, 0x1d);
  EXPECT_EQ(hdr->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  auto* g = static_cast<genlmsghdr*>(nlmsg_data(hdr));
  EXPECT_EQ(g->cmd, WG_CMD_SET_DEVICE);
  EXPECT_EQ(g->version, WG_GENL_VERSION);

  Bytes want;
  want.attr(WGDEVICE_A_IFNAME, "skwg0", 6);
  want.attr(WGDEVICE_A_PRIVATE_KEY, key_of(0x11).data(), 32);
  want.u16(WGDEVICE_A_LISTEN_PORT, 51820);
  Bytes peer1;
  peer1.attr(WGPEER_A_PUBLIC_KEY, key_of(0x22).data(), 32);
  peer1.u32(WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(51820);
  inet_pton(AF_INET, "10.9.0.2", &sin.sin_addr);
  peer1.attr(WGPEER_A_ENDPOINT, &sin, sizeof sin);
  peer1.u16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
  Bytes ip;
  ip.u16(WGALLOWEDIP_A_FAMILY, AF_INET);
  uint8_t addr[4] = {10, 244, 2, 0};
  ip.attr(WGALLOWEDIP_A_IPADDR, addr, 4);
  ip.u8(WGALLOWEDIP_A_CIDR_MASK, 24);
  Bytes ips;
  ips.nest(0, ip);
  peer1.nest(WGPEER_A_ALLOWEDIPS, ips);
  Bytes peer2;
  peer2.attr(WGPEER_A_PUBLIC_KEY, key_of(0x33).data(), 32);
  peer2.u32(WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
  Bytes peers;
  peers.nest(0, peer1);
  peers.nest(0, peer2);
  want.nest(WGDEVICE_A_PEERS, peers);

  auto* payload = reinterpret_cast<uint8_t*>(genlmsg_attrdata(g, 0));
  std::vector<uint8_t> got(payload, payload + genlmsg_attrlen(g, 0));
  EXPECT_EQ(got, want.v);

  // An update (not a creation) carries WGPEER_F_UPDATE_ONLY, never REPLACE_ALLOWEDIPS unless
  // the allowed IPs changed.
  PeerChange update;
  update.public_key = key_of(0x44);
  update.endpoint = *Endpoint::parse("10.9.0.4:1");
  DeviceConfig u;
  u.peers = {update};
  auto umsg = genl::build_set_device(0x1d, "skwg0", u);
  ASSERT_TRUE(umsg.ok());
  DeviceState parsed;
  // The same attribute shapes parse back (the parser ignores the flags).
  ASSERT_TRUE(genl::parse_device(nlmsg_hdr(umsg->get()), parsed).ok());
  ASSERT_EQ(parsed.peers.size(), 1u);
  EXPECT_EQ(parsed.peers[0].endpoint->str(), "10.9.0.4:1");
  auto* ug = static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(umsg->get())));
  nlattr* attrs[WGDEVICE_A_MAX + 1];
  ASSERT_EQ(
      nla_parse(attrs, WGDEVICE_A_MAX, genlmsg_attrdata(ug, 0), genlmsg_attrlen(ug, 0), nullptr),
      0);
  nlattr* p = static_cast<nlattr*>(nla_data(attrs[WGDEVICE_A_PEERS]));
  nlattr* pa[WGPEER_A_MAX + 1];
  ASSERT_EQ(nla_parse_nested(pa, WGPEER_A_MAX, p, nullptr), 0);
  EXPECT_EQ(nla_get_u32(pa[WGPEER_A_FLAGS]), static_cast<uint32_t>(WGPEER_F_UPDATE_ONLY));
  EXPECT_EQ(pa[WGPEER_A_ALLOWEDIPS], nullptr);
}

TEST(OverlayGenl, GetDeviceAnswerParses) {
  // A GET_DEVICE answer as the kernel shapes it, split over two messages for one peer.
  auto build = [](const Bytes& attrs) {
    genl::MsgPtr m(nlmsg_alloc());
    genlmsg_put(m.get(), 0, 0, 0x1d, 0, NLM_F_MULTI, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
    nlmsg_append(m.get(), const_cast<uint8_t*>(attrs.v.data()), attrs.v.size(), 0);
    return m;
  };
  Bytes first;
  first.attr(WGDEVICE_A_PRIVATE_KEY, key_of(0x11).data(), 32);
  first.u16(WGDEVICE_A_LISTEN_PORT, 51820);
  Bytes peer;
  peer.attr(WGPEER_A_PUBLIC_KEY, key_of(0x22).data(), 32);
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(51820);
  inet_pton(AF_INET6, "fd00::2", &sin6.sin6_addr);
  peer.attr(WGPEER_A_ENDPOINT, &sin6, sizeof sin6);
  __kernel_timespec ts{1700000000, 42};
  peer.attr(WGPEER_A_LAST_HANDSHAKE_TIME, &ts, sizeof ts);
  uint64_t rx = 1234, tx = 5678;
  peer.attr(WGPEER_A_RX_BYTES, &rx, 8);
  peer.attr(WGPEER_A_TX_BYTES, &tx, 8);
  Bytes ip1;
  ip1.u16(WGALLOWEDIP_A_FAMILY, AF_INET);
  uint8_t a1[4] = {10, 244, 2, 0};
  ip1.attr(WGALLOWEDIP_A_IPADDR, a1, 4);
  ip1.u8(WGALLOWEDIP_A_CIDR_MASK, 24);
  Bytes ips;
  ips.nest(0, ip1);
  peer.nest(WGPEER_A_ALLOWEDIPS, ips);
  Bytes peers;
  peers.nest(0, peer);
  first.nest(WGDEVICE_A_PEERS, peers);
  // Second message: the same peer continued with one more allowed IP.
  Bytes second, peer_cont, ip2, ips2, peers2;
  peer_cont.attr(WGPEER_A_PUBLIC_KEY, key_of(0x22).data(), 32);
  ip2.u16(WGALLOWEDIP_A_FAMILY, AF_INET6);
  in6_addr a2{};
  inet_pton(AF_INET6, "fd44:2::", &a2);
  ip2.attr(WGALLOWEDIP_A_IPADDR, &a2, 16);
  ip2.u8(WGALLOWEDIP_A_CIDR_MASK, 64);
  ips2.nest(0, ip2);
  peer_cont.nest(WGPEER_A_ALLOWEDIPS, ips2);
  peers2.nest(0, peer_cont);
  second.nest(WGDEVICE_A_PEERS, peers2);

  DeviceState s;
  ASSERT_TRUE(genl::parse_device(nlmsg_hdr(build(first).get()), s).ok());
  ASSERT_TRUE(genl::parse_device(nlmsg_hdr(build(second).get()), s).ok());
  EXPECT_EQ(*s.private_key, key_of(0x11));
  EXPECT_EQ(s.listen_port, 51820);
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].endpoint->str(), "[fd00::2]:51820");
  EXPECT_EQ(s.peers[0].last_handshake_sec, 1700000000);
  EXPECT_EQ(s.peers[0].rx_bytes, 1234u);
  EXPECT_EQ(s.peers[0].tx_bytes, 5678u);
  EXPECT_EQ(s.peers[0].allowed_ips, (std::vector<IpNet>{net("10.244.2.0/24"), net("fd44:2::/64")}));
}

}  // namespace
}  // namespace skiff::cni::overlay

namespace skiff::cni::overlay {
namespace {

TEST(OverlayBackend, AutoPicksTheKernelOnlyWhenItsFamilyResolves) {
  BackendOptions o;
  o.ifname = "skwgtest0";
  o.state_dir = "/nonexistent";
  auto b = make_backend(o);
  ASSERT_TRUE(b.ok()) << b.error().what();
  EXPECT_EQ((*b)->name(), kernel_wireguard_available() ? "kernel" : "wireguard-go");
  if (!kernel_wireguard_available()) {
    o.kind = "kernel";
    auto k = make_backend(o);
    ASSERT_FALSE(k.ok());
    EXPECT_NE(k.error().what().find("no WireGuard"), std::string::npos);
  }
  o.kind = "userspace";
  EXPECT_FALSE(make_backend(o).ok());
  o.kind = "wireguard-go";
  o.ifname = "a-name-far-too-long";
  auto bad = make_backend(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("a-name-far-too-long"), std::string::npos);
}

}  // namespace
}  // namespace skiff::cni::overlay
