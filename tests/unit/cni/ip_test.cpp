// IP addresses and prefixes: parsing, arithmetic, containment.
#include <gtest/gtest.h>

#include "cni/ip.hpp"

namespace skiff::cni {
namespace {

TEST(IpAddr, ParsesPrintsAndSteps) {
  auto v4 = IpAddr::parse("10.0.0.255");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->next().str(), "10.0.1.0");
  EXPECT_EQ(v4->prev().str(), "10.0.0.254");
  EXPECT_EQ(IpAddr::parse("255.255.255.255")->next().str(), "0.0.0.0");
  auto v6 = IpAddr::parse("fd00::ffff");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->is_v4());
  EXPECT_EQ(v6->next().str(), "fd00::1:0");
  EXPECT_FALSE(IpAddr::parse("10.0.0.256"));
  EXPECT_FALSE(IpAddr::parse("fd00:::1"));
  EXPECT_FALSE(IpAddr::parse(""));
  EXPECT_LT(*IpAddr::parse("10.0.0.2"), *IpAddr::parse("10.0.0.10"));
}

TEST(IpNet, NetworkLastContainsOverlaps) {
  auto n = IpNet::parse("10.1.2.3/16");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->str(), "10.1.2.3/16");
  EXPECT_EQ(n->network().str(), "10.1.0.0/16");
  EXPECT_EQ(n->last().str(), "10.1.255.255");
  EXPECT_TRUE(n->contains(*IpAddr::parse("10.1.200.1")));
  EXPECT_FALSE(n->contains(*IpAddr::parse("10.2.0.1")));
  EXPECT_FALSE(n->contains(*IpAddr::parse("::1")));
  EXPECT_TRUE(n->overlaps(*IpNet::parse("10.1.5.0/24")));
  EXPECT_TRUE(IpNet::parse("10.1.5.0/24")->overlaps(*n));
  EXPECT_FALSE(n->overlaps(*IpNet::parse("10.2.0.0/16")));
  auto v6 = IpNet::parse("fd00:1::/64");
  EXPECT_EQ(v6->last().str(), "fd00:1::ffff:ffff:ffff:ffff");
  EXPECT_EQ(IpNet::parse("0.0.0.0/0")->last().str(), "255.255.255.255");
  EXPECT_EQ(IpNet::parse("::/0")->network().str(), "::/0");
  EXPECT_FALSE(IpNet::parse("10.0.0.0/33"));
  EXPECT_FALSE(IpNet::parse("10.0.0.0"));
  EXPECT_FALSE(IpNet::parse("10.0.0.0/x"));
}

}  // namespace
}  // namespace skiff::cni
