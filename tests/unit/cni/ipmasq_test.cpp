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
