// Pod cgroups on the real kernel: requests/limits → <parent>/[burstable|besteffort/]pod<uid> with
// the pod's limits, the pause and the containers beneath it with their own, the QoS class in the
// status, and nothing left after the pod. The cgroup mode (v1/hybrid here, v2 in the VM lane) is
// detected with the runtime's cgroup library and the files of that mode are read.

#include <gtest/gtest.h>
#include <unistd.h>

#include "runtime/cgroups/manager.hpp"
#include "tests/integration/kubelet/pod_fixture.hpp"

namespace skiff::test {
namespace {

constexpr char kCgBridge[] = "skcgt0";
constexpr char kCgSubnet[] = "10.233.0.0/24";

class PodCgroupTest : public PodFixture<kCgBridge, kCgSubnet> {
 protected:
  void SetUp() override {
    PodFixture::SetUp();
    if (IsSkipped()) return;
    auto mode = runtime::cgroups::detect_mode();
    if (!mode) GTEST_SKIP() << "cgroup mode: " << mode.error().what();
    v2_ = *mode == runtime::cgroups::Mode::kV2;
  }
  // Under the "skiff" subtree the leak snapshot watches.
  std::string parent_ = cat("/skiff/cgt-", getpid());
  std::vector<std::string> extra_globals() const override { return {"--cgroup-parent", parent_}; }
  static std::string uid_of(const json& s) { return s.value("uid", ""); }

  // A controller file of cgroup `path` in this host's mode.
  std::string file(const char* v1_controller, const std::string& path, const char* name) const {
    if (v2_) return cat("/sys/fs/cgroup", path, '/', name);
    return cat("/sys/fs/cgroup/", v1_controller, path, '/', name);
  }
  std::string value(const char* v1_controller, const std::string& path, const char* name) const {
    return std::string(trim(read_file(file(v1_controller, path, name))));
  }
  bool exists(const std::string& path) const {
    return ::access(
               (v2_ ? cat("/sys/fs/cgroup", path) : cat("/sys/fs/cgroup/memory", path)).c_str(),
               F_OK) == 0;
  }
  void TearDown() override {
    PodFixture::TearDown();
    // The QoS parents stay after a pod (as the kubelet's); this test's parent goes.
    for (const char* sub : {"/burstable", "/besteffort", ""})
      (void)sh(cat("for d in /sys/fs/cgroup/*", parent_, sub, " /sys/fs/cgroup", parent_, sub,
                   "; do [ -d \"$d\" ] && rmdir \"$d\"; done 2>/dev/null"));
  }
  std::string pod_uid(const std::string& name) const {
    auto r = pod({"status", name, "-o", "json"});
    auto j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? "" : j["metadata"].value("uid", "");
  }

  bool v2_ = false;
};

TEST_F(PodCgroupTest, GuaranteedPodHasTheSumOfItsContainersLimits) {
  auto file_path = write_pod("guar", R"Y(apiVersion: v1
kind: Pod
metadata: {name: guar}
spec:
  initContainers:
  - name: init
    image: busybox:1.35
    command: ['true']
    resources: {limits: {cpu: 250m, memory: 16Mi}}
  containers:
  - name: a
    image: busybox:1.35
    command: [sleep, '6017']
    resources: {limits: {cpu: 500m, memory: 64Mi}}
  - name: b
    image: busybox:1.35
    command: [sleep, '600']
    resources: {limits: {cpu: 250m, memory: 32Mi}, requests: {cpu: 250m, memory: 32Mi}}
)Y");
  auto started = pod({"run", "--detach", file_path});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  ASSERT_TRUE(wait_until([&] {
    auto s = status("guar");
    return container(s, "a")["state"].contains("running") &&
           container(s, "b")["state"].contains("running");
  }));
  json s = status("guar");
  EXPECT_EQ(s["qosClass"], "Guaranteed");
  std::string uid = pod_uid("guar");
  ASSERT_FALSE(uid.empty());
  std::string pc = cat(parent_, "/pod", uid);  // Guaranteed: right under the parent
  ASSERT_TRUE(exists(pc)) << pc;
  EXPECT_TRUE(exists(pc + "/pause"));
  EXPECT_TRUE(exists(pc + "/a-0"));
  EXPECT_TRUE(exists(pc + "/b-0"));
  if (v2_) {
    EXPECT_EQ(value("", pc, "memory.max"), std::to_string(96 << 20));
    EXPECT_EQ(value("", pc, "cpu.max"), "75000 100000");
    EXPECT_EQ(value("", pc + "/a-0", "memory.max"), std::to_string(64 << 20));
  } else {
    EXPECT_EQ(value("memory", pc, "memory.limit_in_bytes"), std::to_string(96 << 20));
    EXPECT_EQ(value("cpu", pc, "cpu.cfs_quota_us"), "75000");
    EXPECT_EQ(value("cpu", pc, "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(value("cpu", pc, "cpu.shares"), std::to_string(750 * 1024 / 1000));
    EXPECT_EQ(value("memory", pc + "/a-0", "memory.limit_in_bytes"), std::to_string(64 << 20));
    EXPECT_EQ(value("cpu", pc + "/a-0", "cpu.cfs_quota_us"), "50000");
  }
  // The container's processes are in its cgroup beneath the pod's.
  std::string pid = std::string(trim(sh(cat("cat /proc/$(pgrep -f -n '^sleep 6017$')/cgroup")).out));
  EXPECT_NE(pid.find(pc + "/"), std::string::npos) << pid;

  ASSERT_EQ(pod({"rm", "-f", "guar"}).exit_code, 0);
  EXPECT_FALSE(exists(pc)) << "the pod cgroup is left";
  expect_nothing_left();
}

TEST_F(PodCgroupTest, QosClassesPickTheParentAndPidsLimitApplies) {
  struct Case {
    const char* name;
    const char* resources;
    const char* qos;
    const char* sub;
  };
  for (const Case& c : {Case{"burst", "    resources: {requests: {cpu: 100m, memory: 8Mi}}\n",
                             "Burstable", "/burstable"},
                        Case{"best", "", "BestEffort", "/besteffort"}}) {
    SCOPED_TRACE(c.name);
    auto f = write_pod(c.name, cat("apiVersion: v1\nkind: Pod\nmetadata: {name: ", c.name,
                                   "}\nspec:\n  containers:\n  - name: m\n    image: busybox:1.35\n"
                                   "    command: [sleep, '600']\n",
                                   c.resources));
    ASSERT_EQ(pod({"--pod-pids-limit", "64", "run", "--detach", f}).exit_code, 0);
    EXPECT_EQ(status(c.name)["qosClass"], c.qos);
    std::string pc = cat(parent_, c.sub, "/pod", pod_uid(c.name));
    ASSERT_TRUE(exists(pc)) << pc;
    EXPECT_EQ(value("pids", pc, "pids.max"), "64");
    if (!v2_) {
      EXPECT_EQ(value("memory", pc, "memory.limit_in_bytes").size() > 12, true);  // unlimited
      EXPECT_EQ(value("cpu", pc, "cpu.shares"), std::string(c.sub) == "/besteffort" ? "2" : "102");
    } else {
      EXPECT_EQ(value("", pc, "memory.max"), "max");
    }
    ASSERT_EQ(pod({"rm", "-f", c.name}).exit_code, 0);
    EXPECT_FALSE(exists(pc));
  }
  expect_nothing_left();
}

}  // namespace
}  // namespace skiff::test
