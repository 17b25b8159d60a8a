// skiff-bridge + skiff-ipam driven by our invoker on a throwaway node: pod-to-pod traffic over
// the bridge (IPv4 and IPv6), the gateway, hairpin, MTU, CHECK, masquerading, GC — and after DEL
// nothing left: no lease, no veth, no cache entry, no nftables table.
#include "tests/integration/cni/cni_fixture.hpp"

namespace skiff::cni::test {
namespace {

class SkiffBridge : public CniNode {
 protected:
  void SetUp() override {
    CniNode::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    invoker_.emplace(InvokerOptions{{skiff_plugin_dir()}, cache_.path(), std::chrono::seconds(20)});
  }

  // A conflist with one skiff-bridge on bridge "skbr<n>" and the subnets given.
  NetworkConfigList network(Json ranges, Json extra = Json::object()) {
    Json bridge = {
        {"type", "skiff-bridge"},
        {"bridge", cat("skbr", id_).substr(0, 15)},
        {"isDefaultGateway", true},
        {"ipam",
         {{"type", "skiff-ipam"}, {"dataDir", leases_.path()}, {"ranges", std::move(ranges)}}}};
    bridge.update(extra);
    Json list = {{"cniVersion", "1.1.0"}, {"name", net_}, {"plugins", Json::array({bridge})}};
    auto l = NetworkConfigList::parse(list.dump());
    EXPECT_TRUE(l.ok()) << l.error().what();
    return *l;
  }
  std::string bridge() { return cat("skbr", id_).substr(0, 15); }
  std::string lease_dir() { return leases_.path() + "/" + net_; }
  std::vector<std::string> cache_files() {
    std::vector<std::string> out;
    for (auto& e : std::filesystem::directory_iterator(cache_.path()))
      out.push_back(e.path().filename().string());
    return out;
  }

  std::string net_ = "skiffnet";
  TempDir leases_{"skiff-cni-leases"};
  TempDir cache_{"skiff-cni-cache"};
  std::optional<Invoker> invoker_;
};

TEST_F(SkiffBridge, PodToPodOnOneNodeThenDelLeavesNothing) {
  auto net = network(Json::parse(R"([[{"subnet":"10.201.0.0/24"}],[{"subnet":"fd20:1::/64"}]])"),
                     {{"hairpinMode", true}, {"mtu", 1420}});
  auto p1 = add_netns("p1"), p2 = add_netns("p2");
  auto r1 = invoker_->add(net, pod_conf(p1, "pod-one"));
  ASSERT_TRUE(r1.ok()) << r1.error().what();
  auto r2 = invoker_->add(net, pod_conf(p2, "pod-two"));
  ASSERT_TRUE(r2.ok()) << r2.error().what();

  // The result: bridge, host veth, pod interface (with its sandbox); one IP per family on it.
  ASSERT_EQ(r1->interfaces.size(), 3u);
  EXPECT_EQ(r1->interfaces[0].name, bridge());
  EXPECT_EQ(r1->interfaces[2].name, "eth0");
  EXPECT_EQ(r1->interfaces[2].sandbox, netns_path(p1));
  ASSERT_EQ(r1->ips.size(), 2u);
  EXPECT_EQ(r1->ips[0].address.str(), "10.201.0.2/24");
  EXPECT_EQ(r1->ips[0].gateway->str(), "10.201.0.1");
  EXPECT_EQ(r1->ips[0].interface, 2);
  EXPECT_EQ(r2->ips[0].address.str(), "10.201.0.3/24");
  EXPECT_EQ(r2->ips[1].address.str(), "fd20:1::3/64");
  auto mac = sh(cat("ip netns exec ", p1, " cat /sys/class/net/eth0/address")).out;
  EXPECT_EQ(trim(mac), r1->interfaces[2].mac);

  // Traffic: pod to pod over the bridge, both families, and to the gateway on the bridge.
  EXPECT_TRUE(ping(p1, "10.201.0.3"));
  EXPECT_TRUE(ping(p2, "10.201.0.2"));
  EXPECT_TRUE(ping(p1, "fd20:1::3"));
  EXPECT_TRUE(ping(p1, "10.201.0.1"));
  EXPECT_NE(run({"ip", "netns", "exec", p1, "ip", "route"}).out.find("default via 10.201.0.1"),
            std::string::npos);

  // MTU on both veth ends, hairpin on the bridge port, the veth enslaved to our bridge.
  EXPECT_EQ(trim(sh(cat("ip netns exec ", p1, " cat /sys/class/net/eth0/mtu")).out), "1420");
  auto host_veth = r1->interfaces[1].name;
  auto details = run({"ip", "-d", "link", "show", host_veth}).out;
  EXPECT_NE(details.find("mtu 1420"), std::string::npos) << details;
  EXPECT_NE(details.find("master " + bridge()), std::string::npos) << details;
  EXPECT_NE(details.find("hairpin on"), std::string::npos) << details;
  EXPECT_EQ(leases(lease_dir()),
            (std::vector<std::string>{"10.201.0.2", "10.201.0.3", "fd20:1::2", "fd20:1::3"}));

  auto checked = invoker_->check(net, pod_conf(p1, "pod-one"));
  EXPECT_TRUE(checked.ok()) << checked.error().what();

  ASSERT_TRUE(invoker_->del(net, pod_conf(p1, "pod-one")).ok());
  ASSERT_TRUE(invoker_->del(net, pod_conf(p2, "pod-two")).ok());
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
  EXPECT_EQ(node_links(), (std::vector<std::string>{"lo", bridge()}));
  EXPECT_EQ(pod_links(p1), std::vector<std::string>{"lo"});
  EXPECT_EQ(pod_links(p2), std::vector<std::string>{"lo"});
  EXPECT_EQ(cache_files(), std::vector<std::string>{});
  // DEL is idempotent.
  EXPECT_TRUE(invoker_->del(net, pod_conf(p1, "pod-one")).ok());
}

TEST_F(SkiffBridge, CheckNoticesAMissingInterface) {
  auto net = network(Json::parse(R"([[{"subnet":"10.202.0.0/24"}]])"));
  auto p1 = add_netns("p1");
  ASSERT_TRUE(invoker_->add(net, pod_conf(p1, "c1")).ok());
  ASSERT_EQ(run({"ip", "netns", "exec", p1, "ip", "link", "del", "eth0"}).exit_code, 0);
  auto checked = invoker_->check(net, pod_conf(p1, "c1"));
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().msg.find("eth0"), std::string::npos) << checked.error().what();
  ASSERT_TRUE(invoker_->del(net, pod_conf(p1, "c1")).ok());
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
}

TEST_F(SkiffBridge, DelSucceedsAfterTheNetnsIsGone) {
  auto net = network(Json::parse(R"([[{"subnet":"10.203.0.0/24"}]])"));
  auto p1 = add_netns("p1");
  auto r = invoker_->add(net, pod_conf(p1, "c1"));
  ASSERT_TRUE(r.ok()) << r.error().what();
  del_netns(p1);  // the kernel destroys the veth pair with it
  auto d = invoker_->del(net, pod_conf(p1, "c1"));
  ASSERT_TRUE(d.ok()) << d.error().what();
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
  EXPECT_EQ(node_links(), (std::vector<std::string>{"lo", bridge()}));
  // And with no netns path at all (a runtime that lost it).
  RuntimeConf no_ns = pod_conf(p1, "c1");
  no_ns.netns.clear();
  EXPECT_TRUE(invoker_->del(net, no_ns).ok());
}

TEST_F(SkiffBridge, FailedAddLeavesNothingHalfConfigured) {
  // Exhausted: a range of one address. The second pod gets code 11, and no veth or lease.
  auto net = network(Json::parse(
      R"([[{"subnet":"10.204.0.0/24","rangeStart":"10.204.0.9","rangeEnd":"10.204.0.9"}]])"));
  auto p1 = add_netns("p1"), p2 = add_netns("p2");
  ASSERT_TRUE(invoker_->add(net, pod_conf(p1, "c1")).ok());
  auto links_with_one = node_links();
  auto full = invoker_->add(net, pod_conf(p2, "c2"));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, kErrTryAgainLater) << full.error().what();
  EXPECT_NE(full.error().msg.find("no IP addresses available"), std::string::npos);
  EXPECT_EQ(node_links(), links_with_one);
  EXPECT_EQ(pod_links(p2), std::vector<std::string>{"lo"});
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{"10.204.0.9"});

  // The pod already has an eth0: the veth and the lease of this attempt are rolled back.
  ASSERT_TRUE(invoker_->del(net, pod_conf(p1, "c1")).ok());
  ASSERT_EQ(run({"ip", "netns", "exec", p2, "ip", "link", "add", "eth0", "type", "veth", "peer",
                 "name", "eth0peer"})
                .exit_code,
            0);
  auto clash = invoker_->add(net, pod_conf(p2, "c2"));
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().msg.find("already has an interface"), std::string::npos)
      << clash.error().what();
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
  EXPECT_EQ(node_links(), (std::vector<std::string>{"lo", bridge()}));
  EXPECT_EQ(pod_links(p2), (std::vector<std::string>{"eth0", "eth0peer", "lo"}));
  EXPECT_EQ(cache_files(), std::vector<std::string>{});
}

TEST_F(SkiffBridge, BadConfigsGetSpecErrorsAndTouchNothing) {
  auto p1 = add_netns("p1");
  auto overlap =
      network(Json::parse(R"([[{"subnet":"10.205.0.0/16"}],[{"subnet":"10.205.7.0/24"}]])"));
  auto r = invoker_->add(overlap, pod_conf(p1, "c1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kErrInvalidNetworkConfig) << r.error().what();
  auto bad_bridge = network(Json::parse(R"([[{"subnet":"10.206.0.0/24"}]])"),
                            {{"bridge", "name-way-too-long-for-linux"}});
  r = invoker_->add(bad_bridge, pod_conf(p1, "c1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kErrInvalidNetworkConfig);
  auto missing_ns = invoker_->add(network(Json::parse(R"([[{"subnet":"10.206.0.0/24"}]])")),
                                  pod_conf(prefix_ + "nonexistent", "c1"));
  ASSERT_FALSE(missing_ns.ok());
  EXPECT_EQ(missing_ns.error().code, kErrUnknownContainer) << missing_ns.error().what();
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
  // The bridge may exist (ensured before the netns was opened); nothing else does.
  auto links = node_links();
  links.erase(std::remove(links.begin(), links.end(), bridge()), links.end());
  EXPECT_EQ(links, std::vector<std::string>{"lo"});
  EXPECT_EQ(pod_links(p1), std::vector<std::string>{"lo"});
}

TEST_F(SkiffBridge, IpMasqReachesOutsideAndTheTableGoesWithTheLastLease) {
  // An "outside" namespace linked to the node with an address the pods' subnet cannot route
  // back to: replies only come back when the node masquerades.
  auto ext = add_netns("ext");
  ASSERT_EQ(
      sh(cat("ip link add skx", id_, " type veth peer name skxp netns ", ext,
             " && ip addr add 10.209.", 0, ".1/24 dev skx", id_, " && ip link set skx", id_,
             " up && ip netns exec ", ext, " ip addr add 10.209.0.2/24 dev skxp && ip netns exec ",
             ext, " ip link set skxp up"))
          .exit_code,
      0);
  auto net = network(Json::parse(R"([[{"subnet":"10.207.0.0/24"}]])"), {{"ipMasq", true}});
  auto p1 = add_netns("p1"), p2 = add_netns("p2");
  ASSERT_TRUE(invoker_->add(net, pod_conf(p1, "c1")).ok());
  ASSERT_TRUE(invoker_->add(net, pod_conf(p2, "c2")).ok());
  EXPECT_TRUE(ping(p1, "10.209.0.2")) << "masqueraded traffic to the outside";
  auto table = sh("nft list table inet skiff-" + net_);
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("comment \"c1/eth0\""), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("comment \"c2/eth0\""), std::string::npos) << table.out;

  ASSERT_TRUE(invoker_->del(net, pod_conf(p1, "c1")).ok());
  table = sh("nft list table inet skiff-" + net_);
  EXPECT_EQ(table.exit_code, 0) << "the table stays while a lease remains";
  EXPECT_EQ(table.out.find("c1/eth0"), std::string::npos) << table.out;
  ASSERT_TRUE(invoker_->del(net, pod_conf(p2, "c2")).ok());
  EXPECT_NE(sh("nft list table inet skiff-" + net_).exit_code, 0) << "table removed with the last";
  EXPECT_EQ(trim(sh("nft list ruleset").out), "");
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
  run({"ip", "link", "del", "skx" + id_});
}

TEST_F(SkiffBridge, GcRemovesAttachmentsTheRuntimeNoLongerHas) {
  auto net = network(Json::parse(R"([[{"subnet":"10.208.0.0/24"}]])"), {{"ipMasq", true}});
  auto p1 = add_netns("p1"), p2 = add_netns("p2");
  ASSERT_TRUE(invoker_->add(net, pod_conf(p1, "keep")).ok());
  ASSERT_TRUE(invoker_->add(net, pod_conf(p2, "stale")).ok());
  ASSERT_TRUE(invoker_->status(net).ok());
  auto gc = invoker_->gc(net, {{"keep", "eth0"}});
  ASSERT_TRUE(gc.ok()) << gc.error().what();
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{"10.208.0.2"});
  EXPECT_EQ(pod_links(p2), std::vector<std::string>{"lo"});
  EXPECT_EQ(pod_links(p1), (std::vector<std::string>{"eth0", "lo"}));
  EXPECT_EQ(sh("nft list table inet skiff-" + net_).out.find("stale"), std::string::npos);
  ASSERT_TRUE(invoker_->del(net, pod_conf(p1, "keep")).ok());
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
}

// ADD killed half-way (the IPAM plugin hangs after leasing; the invoker's timeout kills the
// bridge plugin's process group, delegate included); DEL afterwards must clean everything.
TEST_F(SkiffBridge, PluginKilledMidAddThenDelCleansUp) {
  TempDir bin("skiff-cni-bin");
  std::string hang = bin / "hang-ipam";
  skiff::test::write_file(hang,
                          cat("#!/bin/sh\nout=$(", skiff_plugin_dir(), "/skiff-ipam)\nrc=$?\n",
                              "if [ \"$CNI_COMMAND\" = ADD ]; then sleep 60; fi\n",
                              "printf '%s' \"$out\"\nexit $rc\n"));
  ASSERT_EQ(chmod(hang.c_str(), 0755), 0);
  Invoker inv(InvokerOptions{
      {bin.path(), skiff_plugin_dir()}, cache_.path(), std::chrono::milliseconds(1500)});
  auto net = network(Json::parse(R"([[{"subnet":"10.210.0.0/24"}]])"),
                     {{"ipam",
                       {{"type", "hang-ipam"},
                        {"dataDir", leases_.path()},
                        {"ranges", Json::parse(R"([[{"subnet":"10.210.0.0/24"}]])")}}}});
  auto p1 = add_netns("p1");
  auto r = inv.add(net, pod_conf(p1, "c1"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().msg.find("timed out"), std::string::npos) << r.error().what();
  // Half-configured: the veth pair and the lease exist.
  EXPECT_EQ(pod_links(p1), (std::vector<std::string>{"eth0", "lo"}));
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{"10.210.0.2"});
  EXPECT_EQ(run({"pgrep", "-f", hang}).out, "") << "the delegated IPAM plugin outlived the kill";

  auto d = inv.del(net, pod_conf(p1, "c1"));
  ASSERT_TRUE(d.ok()) << d.error().what();
  EXPECT_EQ(pod_links(p1), std::vector<std::string>{"lo"});
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
  EXPECT_EQ(node_links(), (std::vector<std::string>{"lo", bridge()}));
}

}  // namespace
}  // namespace skiff::cni::test
