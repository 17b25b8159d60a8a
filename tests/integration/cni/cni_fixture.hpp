#pragma once
// A throwaway node for CNI integration tests: the test thread moves into a fresh "node" network
// namespace (where bridges, host veths and nftables tables live), pods are more namespaces
// created with `ip netns add` (test scaffolding), addresses are 10.x ranges that exist only
// there. TearDown proves nothing leaked: no new link or namespace on the host, and each test
// checks its leases, caches and links itself.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cni/exec.hpp"
#include "cni/invoker.hpp"
#include "cni/netns.hpp"
#include "common/fs.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::cni::test {

using skiff::test::run;
using skiff::test::sh;
using skiff::test::TempDir;

inline std::set<std::string> host_links() {
  std::set<std::string> out;
  for (auto& l : split(sh("ip -o link show | awk -F': ' '{print $2}'").out, '\n', true))
    out.insert(l.substr(0, l.find('@')));
  return out;
}

inline std::vector<std::string> netns_names(const std::string& prefix) {
  std::vector<std::string> out;
  for (auto& l : split(sh("ip netns list").out, '\n', true)) {
    auto name = l.substr(0, l.find(' '));
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

inline std::string reference_plugin_dir() { return "/usr/lib/cni"; }
inline std::string skiff_plugin_dir() { return skiff::test::binary("cni"); }

class CniNode : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    if (access("/usr/sbin/ip", X_OK) != 0 && access("/sbin/ip", X_OK) != 0)
      GTEST_SKIP() << "needs iproute2 (`ip`) for test namespaces";
    if (sh("command -v ping").exit_code != 0) GTEST_SKIP() << "needs ping (iputils-ping)";
    for (auto* b : {"skiff-bridge", "skiff-ipam"})
      ASSERT_EQ(access((skiff_plugin_dir() + "/" + b).c_str(), X_OK), 0) << b << " not built";
    static std::atomic<int> counter{0};
    id_ = cat(getpid() % 100000, "-", counter++);
    prefix_ = cat("skc-", id_, "-");
    links_before_ = host_links();
    node_ = add_netns("node");
    auto fd = open_netns(netns_path(node_));
    ASSERT_TRUE(fd.ok()) << fd.error().what();
    auto sw = NetnsSwitch::enter(fd->get());
    ASSERT_TRUE(sw.ok()) << sw.error().what();
    in_node_.emplace(std::move(*sw));
    ASSERT_EQ(sh("ip link set lo up").exit_code, 0);
  }

  void TearDown() override {
    if (in_node_) {
      ASSERT_TRUE(in_node_->restore().ok());
      in_node_.reset();
    }
    if (prefix_.empty()) return;  // skipped before anything was created
    for (const auto& name : netns_names(prefix_)) run({"ip", "netns", "del", name});
    EXPECT_EQ(netns_names(prefix_), std::vector<std::string>{}) << "network namespaces leaked";
    auto after = host_links();
    std::vector<std::string> added;
    std::set_difference(after.begin(), after.end(), links_before_.begin(), links_before_.end(),
                        std::back_inserter(added));
    EXPECT_EQ(added, std::vector<std::string>{}) << "links appeared in the host namespace";
  }

  static std::string netns_path(const std::string& name) { return "/run/netns/" + name; }

  // Creates a namespace named <prefix><role> and returns its name.
  std::string add_netns(const std::string& role) {
    auto name = prefix_ + role;
    auto r = run({"ip", "netns", "add", name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    run({"ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"});
    return name;
  }
  void del_netns(const std::string& name) { run({"ip", "netns", "del", name}); }

  bool ping(const std::string& from_ns, const std::string& ip) {
    bool v6 = ip.find(':') != std::string::npos;
    std::vector<std::string> argv = {"ip", "netns", "exec", from_ns, "ping"};
    if (v6) argv.push_back("-6");
    for (auto* a : {"-c", "1", "-W", "3"}) argv.emplace_back(a);
    argv.push_back(ip);
    return run(argv).exit_code == 0;
  }

  // Link names in the node namespace (where this thread is) / in a pod namespace.
  std::vector<std::string> node_links() { return link_names({"ip", "-o", "link", "show"}); }
  std::vector<std::string> pod_links(const std::string& ns) {
    return link_names({"ip", "netns", "exec", ns, "ip", "-o", "link", "show"});
  }
  static std::vector<std::string> link_names(const std::vector<std::string>& argv) {
    std::vector<std::string> out;
    for (auto& l : split(run(argv).out, '\n', true)) {
      auto parts = split(l, ':');
      if (parts.size() < 2) continue;
      auto name = std::string(trim(parts[1]));
      out.push_back(name.substr(0, name.find('@')));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Files in a lease directory that are leases (named by an IP).
  static std::vector<std::string> leases(const std::string& dir) {
    std::vector<std::string> out;
    if (!std::filesystem::exists(dir)) return out;
    for (auto& e : std::filesystem::directory_iterator(dir)) {
      auto name = e.path().filename().string();
      if (IpAddr::parse(name)) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  RuntimeConf pod_conf(const std::string& ns, const std::string& container_id) {
    RuntimeConf rt;
    rt.container_id = container_id;
    rt.netns = netns_path(ns);
    rt.ifname = "eth0";
    return rt;
  }

  std::string id_;
  std::string prefix_;
  std::string node_;
  std::set<std::string> links_before_;
  std::optional<NetnsSwitch> in_node_;
};

}  // namespace skiff::cni::test
