// host-local-style IPAM on a temporary data directory: config validation, allocation order,
// exhaustion, release, GC and the plugin's verbs through the skeleton.
#include <gtest/gtest.h>

#include <filesystem>

#include "cni/ipam/allocator.hpp"
#include "cni/ipam/config.hpp"
#include "cni/ipam/host_local.hpp"
#include "cni/ipam/lease_store.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::cni::ipam {
namespace {

Json netconf(const std::string& data_dir, Json ranges, Json extra = Json::object()) {
  Json ipam = {{"type", "skiff-ipam"}, {"dataDir", data_dir}, {"ranges", std::move(ranges)}};
  ipam.update(extra);
  return {{"cniVersion", "1.1.0"}, {"name", "testnet"}, {"type", "skiff-bridge"}, {"ipam", ipam}};
}

std::vector<std::string> lease_files(const std::string& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (IpAddr::parse(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(IpamConfig, DefaultsLikeHostLocal) {
  auto c = parse_config(netconf("/d", Json::parse(R"([[{"subnet":"10.5.0.0/24"}],
                                                       [{"subnet":"fd05::/120"}]])")));
  ASSERT_TRUE(c.ok()) << c.error().what();
  EXPECT_EQ(c->network, "testnet");
  const auto& v4 = c->range_sets[0][0];
  EXPECT_EQ(v4.start.str(), "10.5.0.1");
  EXPECT_EQ(v4.end.str(), "10.5.0.254");
  EXPECT_EQ(v4.gateway->str(), "10.5.0.1");
  const auto& v6 = c->range_sets[1][0];
  EXPECT_EQ(v6.end.str(), "fd05::ff");
  EXPECT_EQ(c->data_dir, "/d");
}

TEST(IpamConfig, LegacySubnetAndRoutes) {
  Json conf = {
      {"cniVersion", "0.4.0"},
      {"name", "legacy"},
      {"type", "bridge"},
      {"ipam",
       {{"type", "skiff-ipam"},
        {"subnet", "10.6.0.0/16"},
        {"rangeStart", "10.6.1.10"},
        {"rangeEnd", "10.6.1.20"},
        {"gateway", "10.6.0.254"},
        {"routes",
         Json::parse(R"([{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.6.0.9"}])")}}}};
  auto c = parse_config(conf);
  ASSERT_TRUE(c.ok()) << c.error().what();
  EXPECT_EQ(c->range_sets[0][0].start.str(), "10.6.1.10");
  EXPECT_EQ(c->range_sets[0][0].gateway->str(), "10.6.0.254");
  ASSERT_EQ(c->routes.size(), 2u);
  EXPECT_EQ(c->routes[1].gw->str(), "10.6.0.9");
  EXPECT_EQ(c->data_dir, kDefaultDataDir);
}

struct BadConfig {
  const char* name;
  const char* ranges;
  const char* needle;
};

class IpamBadConfig : public ::testing::TestWithParam<BadConfig> {};

TEST_P(IpamBadConfig, InvalidNetworkConfig) {
  auto c = parse_config(netconf("/d", Json::parse(GetParam().ranges)));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, kErrInvalidNetworkConfig);
  EXPECT_NE(c.error().msg.find(GetParam().needle), std::string::npos) << c.error().msg;
}

const BadConfig kBadConfigs[] = {
    {"overlapping_sets", R"([[{"subnet":"10.0.0.0/16"}],[{"subnet":"10.0.5.0/24"}]])", "overlaps"},
    {"overlapping_ranges",
     R"([[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.50"},
          {"subnet":"10.0.0.0/24","rangeStart":"10.0.0.40","rangeEnd":"10.0.0.60"}]])",
     "overlaps"},
    {"bad_cidr", R"([[{"subnet":"10.0.0.0/40"}]])", "invalid CIDR"},
    {"too_small", R"([[{"subnet":"10.0.0.0/31"}]])", "too small"},
    {"start_outside", R"([[{"subnet":"10.0.0.0/24","rangeStart":"10.0.1.5"}]])", "rangeStart"},
    {"start_after_end",
     R"([[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.50","rangeEnd":"10.0.0.40"}]])", "is after"},
    {"gateway_outside", R"([[{"subnet":"10.0.0.0/24","gateway":"10.9.9.9"}]])", "gateway"},
    {"mixed_families", R"([[{"subnet":"10.0.0.0/24"},{"subnet":"fd00::/64"}]])", "mixes"},
    {"empty_set", R"([[]])", "non-empty"},
    {"no_ranges", R"([])", "no IP ranges"},
};

INSTANTIATE_TEST_SUITE_P(Cases, IpamBadConfig, ::testing::ValuesIn(kBadConfigs),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(IpamConfig, NetworkNameCannotEscapeTheDataDir) {
  auto conf = netconf("/d", Json::parse(R"([[{"subnet":"10.0.0.0/24"}]])"));
  conf["name"] = "../etc";
  auto c = parse_config(conf);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, kErrInvalidNetworkConfig);
}

class Allocation : public ::testing::Test {
 protected:
  test::TempDir dir_{"skiff-ipam"};
  RangeSet set(const char* json) {
    auto c = parse_config(netconf(dir_.path(), Json::parse(json)));
    EXPECT_TRUE(c.ok()) << c.error().what();
    return c->range_sets[0];
  }
};

TEST_F(Allocation, RoundRobinSkipsGatewayAndDoesNotReuseAtOnce) {
  auto rs = set(R"([[{"subnet":"10.7.0.0/29"}]])");  // .1 gateway, .2-.6 allocatable
  auto store = LeaseStore::open_locked(dir_.path(), "testnet");
  ASSERT_TRUE(store.ok());
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    auto ip = allocate(*store, rs, 0, cat("c", i), "eth0");
    ASSERT_TRUE(ip.ok()) << ip.error().what();
    EXPECT_EQ(ip->address.prefix(), 29);
    EXPECT_EQ(ip->gateway->str(), "10.7.0.1");
    got.push_back(ip->address.addr().str());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.7.0.2", "10.7.0.3", "10.7.0.4"}));
  // Freed .2 is not handed out next: the search goes on after the last reserved.
  ASSERT_TRUE(store->release_by_id("c0", "eth0").ok());
  EXPECT_EQ(allocate(*store, rs, 0, "c3", "eth0")->address.addr().str(), "10.7.0.5");
  EXPECT_EQ(allocate(*store, rs, 0, "c4", "eth0")->address.addr().str(), "10.7.0.6");
  // Then it wraps around to the freed one.
  EXPECT_EQ(allocate(*store, rs, 0, "c5", "eth0")->address.addr().str(), "10.7.0.2");
  auto full = allocate(*store, rs, 0, "c6", "eth0");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, kErrTryAgainLater);
  EXPECT_NE(full.error().msg.find("no IP addresses available"), std::string::npos);
}

TEST_F(Allocation, LeaseFilesInHostLocalFormat) {
  auto rs =
      set(R"([[{"subnet":"10.8.0.0/24","rangeStart":"10.8.0.100","rangeEnd":"10.8.0.101"}]])");
  auto store = LeaseStore::open_locked(dir_.path(), "testnet");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(allocate(*store, rs, 0, "abc", "eth1").ok());
  EXPECT_EQ(test::read_file(dir_ / "testnet/10.8.0.100"), "abc\r\neth1");
  EXPECT_EQ(test::read_file(dir_ / "testnet/last_reserved_ip.0"), "10.8.0.100");
  auto dup = allocate(*store, rs, 0, "abc", "eth1");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().msg.find("duplicate allocation"), std::string::npos);
  auto found = store->find_by_id("abc", "eth1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 1u);
}

TEST_F(Allocation, MultipleRangesInOneSetAndIpv6) {
  auto rs = set(R"([[{"subnet":"10.9.0.0/24","rangeStart":"10.9.0.10","rangeEnd":"10.9.0.10"},
                     {"subnet":"10.9.1.0/24","rangeStart":"10.9.1.10","rangeEnd":"10.9.1.10"}]])");
  auto store = LeaseStore::open_locked(dir_.path(), "testnet");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(allocate(*store, rs, 0, "a", "eth0")->address.str(), "10.9.0.10/24");
  EXPECT_EQ(allocate(*store, rs, 0, "b", "eth0")->address.str(), "10.9.1.10/24");
  EXPECT_EQ(allocate(*store, rs, 0, "c", "eth0").error().code, kErrTryAgainLater);

  auto v6 = set(R"([[{"subnet":"fd09::/64"}]])");
  auto s6 = LeaseStore::open_locked(dir_.path(), "v6net");
  ASSERT_TRUE(s6.ok());
  auto ip = allocate(*s6, v6, 0, "a", "eth0");
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->address.str(), "fd09::2/64");  // ::1 is the default gateway
}

TEST_F(Allocation, RequestedIp) {
  auto rs = set(R"([[{"subnet":"10.10.0.0/24"}]])");
  auto store = LeaseStore::open_locked(dir_.path(), "testnet");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(allocate(*store, rs, 0, "a", "eth0", IpAddr::parse("10.10.0.77"))->address.str(),
            "10.10.0.77/24");
  EXPECT_EQ(allocate(*store, rs, 0, "b", "eth0", IpAddr::parse("10.10.0.77")).error().code,
            kErrTryAgainLater);
  EXPECT_EQ(allocate(*store, rs, 0, "b", "eth0", IpAddr::parse("10.11.0.1")).error().code,
            kErrInvalidNetworkConfig);
}

// The plugin through the skeleton, the way an exec'd skiff-ipam sees it.
class HostLocal : public ::testing::Test {
 protected:
  test::TempDir dir_{"skiff-ipam"};
  HostLocalPlugin plugin_;
  Json conf_ = netconf(dir_.path(),
                       Json::parse(R"([[{"subnet":"10.12.0.0/30"}],[{"subnet":"fd12::/126"}]])"),
                       {{"routes", Json::parse(R"([{"dst":"0.0.0.0/0"}])")}});

  std::pair<int, std::string> run(const std::string& cmd, const std::string& id, Json conf,
                                  std::string args = "") {
    PluginIo io;
    io.env = {{"CNI_COMMAND", cmd},   {"CNI_CONTAINERID", id}, {"CNI_NETNS", "/run/netns/x"},
              {"CNI_IFNAME", "eth0"}, {"CNI_PATH", "/bin"},    {"CNI_ARGS", args}};
    io.stdin_data = conf.dump();
    int rc = run_plugin(plugin_, "skiff-ipam", io);
    return {rc, io.out};
  }
  std::string leases() { return join(lease_files(dir_ / "testnet"), " "); }
};

TEST_F(HostLocal, AddDelCheckGc) {
  auto [rc, out] = run("ADD", "pod1", conf_);
  ASSERT_EQ(rc, 0) << out;
  auto r = Json::parse(out);
  EXPECT_EQ(r["ips"][0]["address"], "10.12.0.2/30");
  EXPECT_EQ(r["ips"][0]["gateway"], "10.12.0.1");
  EXPECT_EQ(r["ips"][1]["address"], "fd12::2/126");
  EXPECT_EQ(r["routes"][0]["dst"], "0.0.0.0/0");
  EXPECT_EQ(leases(), "10.12.0.2 fd12::2");

  Json with_prev = conf_;
  with_prev["prevResult"] = r;
  EXPECT_EQ(run("CHECK", "pod1", with_prev).first, 0);

  // /30 has one usable address besides the gateway: the next pod gets code 11 and the v6
  // set's address it would have had is not kept (all or nothing).
  auto [rc2, out2] = run("ADD", "pod2", conf_);
  EXPECT_EQ(rc2, 1);
  EXPECT_EQ(Json::parse(out2)["code"], kErrTryAgainLater) << out2;
  EXPECT_EQ(leases(), "10.12.0.2 fd12::2");

  EXPECT_EQ(run("DEL", "pod1", conf_).first, 0);
  EXPECT_EQ(leases(), "");
  EXPECT_EQ(run("DEL", "pod1", conf_).first, 0) << "DEL must be idempotent";
  auto [crc, cout] = run("CHECK", "pod1", with_prev);
  EXPECT_EQ(crc, 1);
  EXPECT_EQ(Json::parse(cout)["code"], kErrUnknownContainer);

  ASSERT_EQ(run("ADD", "keep", conf_).first, 0);
  Json gc = conf_;
  gc["cni.dev/valid-attachments"] = Json::parse(R"([{"containerID":"other","ifname":"eth0"}])");
  ASSERT_EQ(run("GC", "", gc).first, 0);
  EXPECT_EQ(leases(), "");
}

TEST_F(HostLocal, GcKeepsValidAttachments) {
  ASSERT_EQ(run("ADD", "a", conf_).first, 0);
  Json gc = conf_;
  gc["cni.dev/valid-attachments"] = Json::parse(R"([{"containerID":"a","ifname":"eth0"}])");
  ASSERT_EQ(run("GC", "", gc).first, 0);
  EXPECT_EQ(leases(), "10.12.0.2 fd12::2");
}

TEST_F(HostLocal, RequestedByCniArgs) {
  Json conf = netconf(dir_.path(), Json::parse(R"([[{"subnet":"10.13.0.0/24"}]])"));
  auto [rc, out] = run("ADD", "a", conf, "IgnoreUnknown=1;IP=10.13.0.200");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(Json::parse(out)["ips"][0]["address"], "10.13.0.200/24");
  auto [rc2, out2] = run("ADD", "b", conf, "IP=10.99.0.1");
  EXPECT_EQ(rc2, 1);
  EXPECT_EQ(Json::parse(out2)["code"], kErrInvalidNetworkConfig);
}

TEST_F(HostLocal, StatusReportsAnUnusableDataDir) {
  EXPECT_EQ(run("STATUS", "", conf_).first, 0);
  Json bad = conf_;
  test::write_file(dir_ / "file", "x");
  bad["ipam"]["dataDir"] = dir_ / "file";
  auto [rc, out] = run("STATUS", "", bad);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(Json::parse(out)["code"], kErrPluginNotAvailable);
}

TEST_F(HostLocal, OverlappingSubnetsAreRefusedBeforeAnyLease) {
  Json conf = netconf(dir_.path(),
                      Json::parse(R"([[{"subnet":"10.14.0.0/16"}],[{"subnet":"10.14.3.0/24"}]])"));
  auto [rc, out] = run("ADD", "a", conf);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(Json::parse(out)["code"], kErrInvalidNetworkConfig);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "testnet"));
}

}  // namespace
}  // namespace skiff::cni::ipam
