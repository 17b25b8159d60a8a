// ipMasq's nftables names and script (the kernel side is in the integration tests).
#include <gtest/gtest.h>

#include "cni/bridge/config.hpp"
#include "cni/bridge/ipmasq.hpp"

namespace skiff::cni::bridge {
namespace {

TEST(IpMasq, TableNamesAreSafeAndStable) {
  EXPECT_EQ(masq_table_name("pods"), "skiff-pods");
  EXPECT_EQ(masq_table_name("my_net-2"), "skiff-my_net-2");
  auto odd = masq_table_name("a b;delete table");
  EXPECT_EQ(odd.find(' '), std::string::npos);
  EXPECT_EQ(odd.find(';'), std::string::npos);
  EXPECT_EQ(odd, masq_table_name("a b;delete table"));
  EXPECT_NE(odd, masq_table_name("a b;delete tablf"));
}

TEST(IpMasq, TagsAreCommentSafe) {
  EXPECT_EQ(masq_rule_tag("abc123", "eth0"), "abc123/eth0");
  auto quoted = masq_rule_tag("x\"; flush ruleset", "eth0");
  EXPECT_EQ(quoted.rfind("h:", 0), 0u);
  EXPECT_LE(masq_rule_tag(std::string(200, 'a'), "eth0").size(), 16u);
}

TEST(IpMasq, ScriptMasqueradesLeavingTrafficOnly) {
  auto s = masq_add_script("pods", "c1/eth0",
                           {*IpNet::parse("10.1.0.5/24"), *IpNet::parse("fd01::5/64")});
  EXPECT_NE(s.find("add table inet skiff-pods"), std::string::npos);
  EXPECT_NE(s.find("type nat hook postrouting"), std::string::npos);
  EXPECT_NE(s.find("ip saddr 10.1.0.5 ip daddr != { 10.1.0.0/24, 224.0.0.0/4 } masquerade "
                   "comment \"c1/eth0\""),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("ip6 saddr fd01::5 ip6 daddr != { fd01::/64, ff00::/8 } masquerade"),
            std::string::npos)
      << s;
}

TEST(IpMasq, ExcludedNetworksAreNotMasqueraded) {
  // The cluster CIDR holds the pod's subnet: the set keeps the larger one only (nft refuses
  // overlapping intervals); the IPv6 exclusion applies to the IPv6 rule only.
  auto s = masq_add_script("pods", "c1/eth0",
                           {*IpNet::parse("10.244.1.5/24"), *IpNet::parse("fd01::5/64")},
                           {*IpNet::parse("10.244.0.0/16"), *IpNet::parse("192.168.7.0/24"),
                            *IpNet::parse("10.244.0.0/16"), *IpNet::parse("fd00::/8")});
  EXPECT_NE(s.find("ip saddr 10.244.1.5 ip daddr != { 10.244.0.0/16, 192.168.7.0/24, "
                   "224.0.0.0/4 } masquerade"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("ip6 saddr fd01::5 ip6 daddr != { fd00::/8, ff00::/8 } masquerade"),
            std::string::npos)
      << s;
}

TEST(IpMasq, SubnetScriptMasqueradesTheWholePodCidrLeavingTheCluster) {
  // skiff-net's node-wide rule (flanneld --ip-masq): source the node's pod CIDR, destinations
  // outside the cluster CIDR (which holds the pod CIDR: one set entry) and multicast.
  auto s = masq_subnet_script("net-skiffwg0", "skiff-net/skiffwg0",
                              {*IpNet::parse("10.244.1.0/24")}, {*IpNet::parse("10.244.0.0/16")});
  EXPECT_EQ(s,
            "add table inet skiff-net-skiffwg0\n"
            "add chain inet skiff-net-skiffwg0 postrouting { type nat hook postrouting priority "
            "100; policy accept; }\n"
            "add rule inet skiff-net-skiffwg0 postrouting ip saddr 10.244.1.0/24 ip daddr != { "
            "10.244.0.0/16, 224.0.0.0/4 } masquerade comment \"skiff-net/skiffwg0\"\n");
  // Run again (`up` after a kubelet restart): the earlier rules are deleted in the same
  // transaction, before the table and the one new rule.
  auto again =
      masq_subnet_script("net-skiffwg0", "skiff-net/skiffwg0", {*IpNet::parse("10.244.1.7/24")},
                         {*IpNet::parse("10.244.0.0/16")}, {4, 9});
  EXPECT_EQ(again.rfind("delete rule inet skiff-net-skiffwg0 postrouting handle 4\n"
                        "delete rule inet skiff-net-skiffwg0 postrouting handle 9\n"
                        "add table inet skiff-net-skiffwg0\n",
                        0),
            0u)
      << again;
  EXPECT_NE(again.find("ip saddr 10.244.1.0/24 ip daddr"), std::string::npos) << again;
  EXPECT_EQ(again.find("add rule"), again.rfind("add rule")) << "one rule: " << again;
  // A pod CIDR outside the cluster CIDR: both left alone; IPv6 keeps its own family's set.
  auto v6 = masq_subnet_script("n", "t", {*IpNet::parse("fd10:0:0:1::/64")},
                               {*IpNet::parse("10.244.0.0/16"), *IpNet::parse("fd10::/48")});
  EXPECT_NE(v6.find("ip6 saddr fd10:0:0:1::/64 ip6 daddr != { fd10::/48, ff00::/8 } masquerade"),
            std::string::npos)
      << v6;
  auto apart = masq_subnet_script("n", "t", {*IpNet::parse("10.9.1.0/24")},
                                  {*IpNet::parse("10.244.0.0/16")});
  EXPECT_NE(apart.find("ip daddr != { 10.9.1.0/24, 10.244.0.0/16, 224.0.0.0/4 }"),
            std::string::npos)
      << apart;
}

TEST(BridgeConfig, IpMasqExcludeTakesCidrsAndNamesTheBadOne) {
  auto conf = [](Json extra) {
    Json j = {{"cniVersion", "1.1.0"},
              {"name", "n"},
              {"type", "skiff-bridge"},
              {"ipam", {{"type", "skiff-ipam"}}}};
    j.update(extra);
    return *NetworkConfig::from_json(j);
  };
  auto c = parse_config(conf({{"ipMasq", true}, {"ipMasqExclude", {"10.244.3.7/16", "fd00::/8"}}}));
  ASSERT_TRUE(c.ok()) << c.error().what();
  ASSERT_EQ(c->ip_masq_exclude.size(), 2u);
  EXPECT_EQ(c->ip_masq_exclude[0].str(), "10.244.0.0/16");
  auto bad = parse_config(conf({{"ipMasqExclude", {"10.0.0.0/8", "nope"}}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, kErrInvalidNetworkConfig);
  EXPECT_NE(bad.error().msg.find("ipMasqExclude[1]"), std::string::npos) << bad.error().msg;
  EXPECT_FALSE(parse_config(conf({{"ipMasqExclude", "10.0.0.0/8"}})).ok());
}

TEST(BridgeConfig, ValidatesLikeTheReferencePlugin) {
  auto conf = [](Json extra) {
    Json j = {{"cniVersion", "1.1.0"},
              {"name", "n"},
              {"type", "skiff-bridge"},
              {"ipam", {{"type", "skiff-ipam"}}}};
    j.update(extra);
    return *NetworkConfig::from_json(j);
  };
  auto c = parse_config(conf({{"isDefaultGateway", true}, {"mtu", 1400}, {"bridge", "br-pods"}}));
  ASSERT_TRUE(c.ok()) << c.error().what();
  EXPECT_TRUE(c->is_gateway);
  EXPECT_EQ(c->mtu, 1400u);
  EXPECT_EQ(c->bridge, "br-pods");
  EXPECT_EQ(parse_config(conf(Json::object()))->bridge, "cni0");
  EXPECT_FALSE(parse_config(conf({{"mtu", 0}}))->mtu.has_value());
  for (Json bad :
       {Json{{"bridge", "this-name-is-too-long"}}, Json{{"bridge", "a/b"}}, Json{{"mtu", 20}},
        Json{{"mtu", "1500"}}, Json{{"ipMasq", "yes"}}, Json{{"ipam", Json::object()}}}) {
    auto r = parse_config(conf(bad));
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().code, kErrInvalidNetworkConfig) << bad.dump();
  }
}

}  // namespace
}  // namespace skiff::cni::bridge
