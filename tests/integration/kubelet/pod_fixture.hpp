#pragma once
// A fixture for pod tests that drive the real skiff-pod / skiff-shim: the busybox fixture image
// imported once into a store shared by the suite, private roots per test, a private bridge and
// subnet, and a check that nothing of a pod is left behind.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/fs.hpp"
#include "tests/support/pod_env.hpp"
#include "tests/support/runtime_fixture.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::test {

template <const char* kBridge, const char* kSubnet>
class PodFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!is_root()) return;
    shared_ = new TempDir("skiff-podfix");
    setup_error_ = import_busybox(shared_->path(), *shared_ / "images");
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
    (void)sh(cat("ip link del ", kBridge, " 2>/dev/null"));
  }

  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    if (!setup_error_.empty()) GTEST_SKIP() << "no busybox image: " << setup_error_;
    if (sh("command -v busybox >/dev/null").exit_code != 0) GTEST_SKIP() << "busybox missing";
    Json ipam = {{"type", "skiff-ipam"},
                 {"ranges", Json::array({Json::array({{{"subnet", kSubnet}}})})},
                 {"routes", Json::array({{{"dst", "0.0.0.0/0"}}})},
                 {"dataDir", dir_ / "ipam"}};
    Json conf = {{"cniVersion", "1.0.0"},
                 {"name", "podfix"},
                 {"plugins", Json::array({{{"type", "skiff-bridge"},
                                           {"bridge", kBridge},
                                           {"isGateway", true},
                                           {"isDefaultGateway", true},
                                           {"ipam", ipam}}})}};
    write_file(dir_ / "net.d/10-podfix.conflist", conf.dump(2));
    before_ = HostSnapshot::take();
    veths_before_ = veth_count();
  }
  void TearDown() override {
    if (!is_root() || !setup_error_.empty()) return;
    remove_all_pods([&](const std::vector<std::string>& args) { return pod(args); });
  }

  virtual std::vector<std::string> extra_globals() const { return {}; }
  // The first restart's back-off; the default is long enough for a test to see the wait.
  virtual std::string backoff_ms() const { return "300"; }
  // skiff-pod with this test's roots, before the verb.
  std::vector<std::string> globals() const {
    std::vector<std::string> argv = {binary("kubelet/skiff-pod"),
                                     "--state-root",
                                     dir_ / "state",
                                     "--run-root",
                                     dir_ / "run",
                                     "--log-root",
                                     dir_ / "logs",
                                     "--image-root",
                                     *shared_ / "images",
                                     "--snapshot-root",
                                     *shared_ / "snapshots",
                                     "--cni-conf-dir",
                                     dir_ / "net.d",
                                     "--cni-cache-dir",
                                     dir_ / "cni-cache",
                                     "--cni-bin-dir",
                                     binary("cni"),
                                     "--backoff-initial-ms",
                                     backoff_ms()};
    for (const auto& a : extra_globals()) argv.push_back(a);
    return argv;
  }
  CommandResult pod(const std::vector<std::string>& args, const std::string& in = "") const {
    auto argv = globals();
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, in);
  }
  std::string write_pod(const std::string& name, const std::string& yaml) const {
    std::string path = dir_ / (name + ".yaml");
    write_file(path, yaml);
    return path;
  }
  json status(const std::string& name) const {
    auto r = pod({"status", name, "-o", "json"});
    auto j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json() : j["status"];
  }
  static json container(const json& status, const std::string& name) {
    for (const char* key : {"containerStatuses", "initContainerStatuses"})
      if (status.contains(key))
        for (const auto& c : status[key])
          if (c["name"] == name) return c;
    return json();
  }
  static json container(const json& status, const std::string& key, const std::string& name) {
    if (!status.is_object() || !status.contains(key)) return json();
    for (const auto& c : status[key])
      if (c["name"] == name) return c;
    return json();
  }
  // Host-side veths on the test's bridge (others' tests may make veths meanwhile).
  static int veth_count() {
    return std::stoi(sh(cat("ip -o link show master ", kBridge, " 2>/dev/null | wc -l")).out);
  }
  std::string shim_pids() const {
    return std::string(trim(sh("pgrep -f '[s]kiff-shim --pod-dir " + dir_.path() + "'").out));
  }
  static size_t entries(const std::string& dir) { return dir_entries(dir); }
  // Nothing of any pod is left: runtime state, shims, sandboxes, leases, veths, mounts, cgroups.
  void expect_nothing_left() const {
    EXPECT_EQ(entries(dir_ / "run/runtime"), 0u) << sh("ls " + dir_ / "run/runtime").out;
    EXPECT_EQ(entries(dir_ / "run/pods"), 0u);
    auto leases =
        sh(cat("ls ", dir_ / "ipam/podfix", " 2>/dev/null | grep -v -e lock -e last_reserved"));
    EXPECT_EQ(trim(leases.out), "") << "IP leases left";
    EXPECT_EQ(veth_count(), veths_before_) << sh(cat("ip -o link show master ", kBridge)).out;
    EXPECT_EQ(shim_pids(), "");
    std::string ours;
    for (const auto& line : split(diff(before_, HostSnapshot::take()), '\n', true))
      if (line.find(dir_.path()) != std::string::npos || line.find("/pod") != std::string::npos)
        ours += line + "\n";
    EXPECT_EQ(ours, "");
  }

  TempDir dir_{"skiff-podfix"};
  HostSnapshot before_;
  int veths_before_ = 0;
  static inline TempDir* shared_ = nullptr;
  static inline std::string setup_error_;
};

}  // namespace skiff::test
