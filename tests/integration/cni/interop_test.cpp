// Interop with Debian's containernetworking-plugins (/usr/lib/cni): our invoker drives the
// reference bridge + host-local with the same connectivity as ours, and our skiff-bridge works
// when called exactly as a container runtime calls it (env + stdin), delegating to host-local.
// Also measures ADD latency of skiff-bridge + skiff-ipam against bridge + host-local.
#include <algorithm>
#include <chrono>

#include "tests/integration/cni/cni_fixture.hpp"

namespace skiff::cni::test {
namespace {

class Interop : public CniNode {
 protected:
  void SetUp() override {
    CniNode::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (auto* p : {"bridge", "host-local"})
      if (access((reference_plugin_dir() + "/" + p).c_str(), X_OK) != 0)
        GTEST_SKIP() << "needs the reference plugin " << reference_plugin_dir() << "/" << p
                     << " (Debian package containernetworking-plugins)";
  }

  // A network config for `type` on bridge `bridge_name` with IPAM `ipam_type`. The reference
  // plugins of Debian 12 (1.1.1) speak CNI up to 1.0.0.
  Json conf(const std::string& type, const std::string& ipam_type, const std::string& subnet,
            const std::string& bridge_name) {
    return {{"cniVersion", "1.0.0"},
            {"name", net_},
            {"type", type},
            {"bridge", bridge_name},
            {"isGateway", true},
            {"ipam",
             {{"type", ipam_type},
              {"dataDir", leases_.path()},
              {"ranges", Json::array({Json::array({{{"subnet", subnet}}})})},
              {"routes", Json::parse(R"([{"dst":"0.0.0.0/0"}])")}}}};
  }

  // Runs a plugin binary the way containerd or podman do: a clean environment with the CNI_*
  // variables, the config on stdin, the result on stdout.
  skiff::test::CommandResult call(const std::string& plugin, const std::string& command,
                                  const std::string& ns, const std::string& id,
                                  const Json& config) {
    std::vector<std::string> argv = {
        "env",
        "-i",
        "CNI_COMMAND=" + command,
        "CNI_CONTAINERID=" + id,
        "CNI_NETNS=" + (ns.empty() ? "" : netns_path(ns)),
        "CNI_IFNAME=eth0",
        "CNI_PATH=" + reference_plugin_dir() + ":" + skiff_plugin_dir(),
        plugin};
    return run(argv, config.dump());
  }

  std::string lease_dir() { return leases_.path() + "/" + net_; }
  std::string net_ = "interopnet";
  TempDir leases_{"skiff-cni-leases"};
  TempDir cache_{"skiff-cni-cache"};
};

TEST_F(Interop, OurInvokerRunsTheReferenceBridgeAndHostLocal) {
  auto bridge_name = cat("skrf", id_).substr(0, 15);
  Json list = {
      {"cniVersion", "1.0.0"},
      {"name", net_},
      {"plugins", Json::array({conf("bridge", "host-local", "10.211.0.0/24", bridge_name)})}};
  list["plugins"][0].erase("cniVersion");
  list["plugins"][0].erase("name");
  auto l = NetworkConfigList::parse(list.dump());
  ASSERT_TRUE(l.ok()) << l.error().what();
  Invoker inv(InvokerOptions{{reference_plugin_dir()}, cache_.path(), std::chrono::seconds(20)});
  auto p1 = add_netns("p1"), p2 = add_netns("p2");
  auto r1 = inv.add(*l, pod_conf(p1, "ref-one"));
  ASSERT_TRUE(r1.ok()) << r1.error().what();
  auto r2 = inv.add(*l, pod_conf(p2, "ref-two"));
  ASSERT_TRUE(r2.ok()) << r2.error().what();
  EXPECT_EQ(r1->cni_version, "1.0.0");
  ASSERT_FALSE(r2->ips.empty());
  auto ip2 = r2->ips[0].address.addr().str();
  EXPECT_TRUE(ping(p1, ip2));
  EXPECT_TRUE(ping(p2, r1->ips[0].address.addr().str()));
  EXPECT_TRUE(ping(p1, "10.211.0.1")) << "the gateway on the reference bridge";
  EXPECT_EQ(leases(lease_dir()).size(), 2u);
  auto checked = inv.check(*l, pod_conf(p1, "ref-one"));
  EXPECT_TRUE(checked.ok()) << checked.error().what();

  ASSERT_TRUE(inv.del(*l, pod_conf(p1, "ref-one")).ok());
  ASSERT_TRUE(inv.del(*l, pod_conf(p2, "ref-two")).ok());
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
  EXPECT_EQ(pod_links(p1), std::vector<std::string>{"lo"});
  EXPECT_EQ(node_links(), (std::vector<std::string>{"lo", bridge_name}));
}

TEST_F(Interop, SkiffBridgeCalledLikeARuntimeWithReferenceHostLocal) {
  auto bridge_name = cat("skrt", id_).substr(0, 15);
  auto config = conf("skiff-bridge", "host-local", "10.212.0.0/24", bridge_name);
  config["isDefaultGateway"] = true;
  auto bin = skiff_plugin_dir() + "/skiff-bridge";
  auto p1 = add_netns("p1"), p2 = add_netns("p2");
  auto a1 = call(bin, "ADD", p1, "rt-one", config);
  ASSERT_EQ(a1.exit_code, 0) << a1.out << a1.err;
  auto a2 = call(bin, "ADD", p2, "rt-two", config);
  ASSERT_EQ(a2.exit_code, 0) << a2.out << a2.err;
  auto r1 = Json::parse(a1.out), r2 = Json::parse(a2.out);
  EXPECT_EQ(r1["cniVersion"], "1.0.0");
  EXPECT_EQ(r1["interfaces"][2]["sandbox"], netns_path(p1));
  auto ip1 = split(r1["ips"][0]["address"].get<std::string>(), '/')[0];
  auto ip2 = split(r2["ips"][0]["address"].get<std::string>(), '/')[0];
  EXPECT_TRUE(ping(p1, ip2));
  EXPECT_TRUE(ping(p2, ip1));
  // host-local's own lease files, written by the reference plugin we delegated to.
  EXPECT_EQ(leases(lease_dir()), (std::vector<std::string>{ip1, ip2}));

  Json with_prev = config;
  with_prev["prevResult"] = r1;
  auto c = call(bin, "CHECK", p1, "rt-one", with_prev);
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  auto v = call(bin, "VERSION", "", "", Json::object());
  EXPECT_EQ(Json::parse(v.out)["supportedVersions"].size(), 5u);

  auto d1 = call(bin, "DEL", p1, "rt-one", with_prev);
  EXPECT_EQ(d1.exit_code, 0) << d1.out << d1.err;
  del_netns(p2);  // DEL after the namespace is gone, without prevResult
  auto d2 = call(bin, "DEL", p2, "rt-two", config);
  EXPECT_EQ(d2.exit_code, 0) << d2.out << d2.err;
  auto again = call(bin, "DEL", p1, "rt-one", config);
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
  EXPECT_EQ(pod_links(p1), std::vector<std::string>{"lo"});

  // Bad input, as a runtime would see it: the spec's error object on stdout, non-zero exit.
  auto bad = call(bin, "ADD", p1, "rt-bad",
                  Json{{"cniVersion", "0.2.0"}, {"name", "x"}, {"type", "skiff-bridge"}});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_EQ(Json::parse(bad.out)["code"], kErrIncompatibleVersion) << bad.out;
  auto garbage = run({"env", "-i", "CNI_COMMAND=ADD", "CNI_CONTAINERID=x",
                      "CNI_NETNS=" + netns_path(p1), "CNI_IFNAME=eth0", "CNI_PATH=/x", bin},
                     "{\"cniVersion\": ");
  EXPECT_NE(garbage.exit_code, 0);
  EXPECT_EQ(Json::parse(garbage.out)["code"], kErrDecodingFailure) << garbage.out;
  EXPECT_EQ(pod_links(p1), std::vector<std::string>{"lo"});
}

// Median wall time of ADD (and of DEL) for one pod, N rounds, plugins exec'd directly with the
// same config shape: skiff-bridge + skiff-ipam vs the reference bridge + host-local. Rounds
// alternate between the two so both see the same machine load.
TEST_F(Interop, AddLatencyAgainstTheReferencePlugins) {
  constexpr int kRounds = 21;
  struct Side {
    std::string dir, type;
    Json config;
    PluginEnv env;
    std::vector<double> adds, dels;
  };
  auto side = [&](const std::string& dir, const std::string& type, const std::string& ipam,
                  const std::string& subnet, const std::string& bridge_name) {
    auto pod = add_netns("bench-" + type);
    return Side{dir,
                type,
                conf(type, ipam, subnet, bridge_name),
                PluginEnv{"ADD", "bench", netns_path(pod), "eth0", "", {dir, skiff_plugin_dir()}},
                {},
                {}};
  };
  Side sides[] = {side(skiff_plugin_dir(), "skiff-bridge", "skiff-ipam", "10.213.0.0/24",
                       cat("skbb", id_).substr(0, 15)),
                  side(reference_plugin_dir(), "bridge", "host-local", "10.214.0.0/24",
                       cat("skbr", id_).substr(0, 15))};
  for (int i = 0; i < kRounds + 1; ++i) {
    for (auto& s : sides) {
      s.env.command = "ADD";
      auto t0 = std::chrono::steady_clock::now();
      auto a = exec_plugin(s.dir + "/" + s.type, s.env, s.config.dump());
      auto t1 = std::chrono::steady_clock::now();
      EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().what());
      s.env.command = "DEL";
      auto d = exec_plugin(s.dir + "/" + s.type, s.env, s.config.dump());
      auto t2 = std::chrono::steady_clock::now();
      EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().what());
      if (i == 0) continue;  // the first round creates the bridge: not what we compare
      s.adds.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      s.dels.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  double ours = median(sides[0].adds), ref = median(sides[1].adds);
  double ratio = ours / ref;
  std::printf(
      "CNI ADD median over %d rounds: skiff-bridge+skiff-ipam %.2f ms, bridge+host-local %.2f "
      "ms, ratio %.2f (target <= 0.30)\nCNI DEL median: skiff %.2f ms, reference %.2f ms\n",
      kRounds, ours, ref, ratio, median(sides[0].dels), median(sides[1].dels));
  RecordProperty("skiff_add_ms", std::to_string(ours));
  RecordProperty("reference_add_ms", std::to_string(ref));
  // Timings on a shared 2-core machine are noisy: this guards against a regression to parity;
  // the 0.3x target is reported above.
  EXPECT_LT(ratio, 1.0);
  EXPECT_EQ(leases(lease_dir()), std::vector<std::string>{});
}

}  // namespace
}  // namespace skiff::cni::test
