// The statistics and eviction passes over a fixture node (no root): pod records and status
// checkpoints under a temporary state root, a cgroup v1 tree of cpuacct and memory files under a
// temporary cgroup root. What the provider collects per pod and container (the newest run of each
// container, no pause, no init container), CPU rates from a sample a second old, and one eviction
// pass per starved resource: the pod ranked first is handed to the evict callback with the
// kubelet's message, pressure and the evictions counter follow.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "common/fs.hpp"
#include "kubelet/node/eviction.hpp"
#include "kubelet/node/stats.hpp"
#include "kubelet/shim/pod_record.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::kubelet::node {
namespace {

struct FakeContainer {
  std::string dir;  // <name>-<restart>
  uint64_t cpu_ns = 0, usage = 0, inactive = 0;
};

class CollectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_.state_root = dir_ / "state";
    node_.log_root = dir_ / "log";
    node_.image_root = dir_.path();
    node_.cgroup_root = dir_ / "cg";
    ASSERT_TRUE(mkdir_p(node_.state_root).ok());
  }

  void cgroup(const std::string& rel, uint64_t cpu_ns, uint64_t usage, uint64_t inactive) {
    test::write_file(dir_ / ("cg/cpuacct" + rel + "/cpuacct.usage"), std::to_string(cpu_ns));
    test::write_file(dir_ / ("cg/memory" + rel + "/memory.usage_in_bytes"), std::to_string(usage));
    test::write_file(dir_ / ("cg/memory" + rel + "/memory.stat"),
                     cat("total_inactive_file ", inactive, "\ntotal_rss ", usage / 2, "\n"));
  }

  // A pod as the shim leaves it: its record, its status checkpoint, its cgroups.
  void add_pod(const std::string& uid, const std::string& name, const std::string& qos,
               const std::vector<FakeContainer>& containers, bool running, size_t disk_bytes) {
    PodRecord r;
    r.uid = uid;
    r.name = name;
    r.namespace_ = "default";
    r.manifest_text = "{}";
    r.node = node_;
    ASSERT_TRUE(mkdir_p(node_.pod_dir(uid)).ok());
    auto saved_record = save_pod_record(node_.pod_dir(uid), r);
    ASSERT_TRUE(saved_record.ok()) << saved_record.error().what();
    std::string cg = "/kubepods/" + qos + "/pod" + uid;
    Json statuses = Json::array();
    uint64_t cpu = 0, usage = 0, inactive = 0;
    for (const auto& c : containers) {
      cgroup(cg + "/" + c.dir, c.cpu_ns, c.usage, c.inactive);
      std::string cname = c.dir.substr(0, c.dir.rfind('-'));
      bool listed = false;
      for (const auto& st : statuses) listed = listed || st["name"] == cname;
      if (!listed)
        statuses.push_back(
            {{"name", cname}, {"state", {{"running", {{"startedAt", "2026-01-01T00:00:05Z"}}}}}});
      cpu += c.cpu_ns;
      usage += c.usage;
      inactive += c.inactive;
    }
    cgroup(cg + "/pause", 1000, 4096, 0);
    cgroup(cg, cpu + 1000, usage + 4096, inactive);
    Json saved = {{"status",
                   {{"phase", running ? "Running" : "Succeeded"},
                    {"startTime", "2026-01-01T00:00:00Z"},
                    {"containerStatuses", statuses}}},
                  {"shimPid", running ? getpid() : 0},
                  {"finished", !running},
                  {"sandbox", {{"cgroup", cg}, {"pausePid", getpid()}, {"qosClass", qos}}}};
    test::write_file(node_.pod_dir(uid) + "/status.json", saved.dump());
    if (disk_bytes)
      test::write_file(node_.pod_dir(uid) + "/volumes/data", std::string(disk_bytes, 'x'));
  }

  static Json api_pod(const std::string& uid, const std::string& name, int priority,
                      const std::string& memory_request = "") {
    Json c = {{"name", "main"}, {"image", "busybox"}};
    if (!memory_request.empty()) c["resources"] = {{"requests", {{"memory", memory_request}}}};
    return {{"metadata", {{"uid", uid}, {"name", name}, {"namespace", "default"}}},
            {"spec", {{"priority", priority}, {"containers", Json::array({c})}}},
            {"status", {{"phase", "Running"}}}};
  }

  test::TempDir dir_{"health-collect"};
  NodeConfig node_;
};

TEST_F(CollectTest, PodsContainersAndRates) {
  add_pod("u1", "web", "burstable",
          {{"main-0", 1'000'000'000, 8 << 20, 1 << 20},
           {"main-1", 2'000'000'000, 16 << 20, 0},
           {"side-0", 500'000'000, 2 << 20, 0},
           {"init-0", 7, 7, 0}},
          true, 0);
  // init-0 has a cgroup but is no container of the status: drop it from the status.
  auto saved = read_json_file(node_.pod_dir("u1") + "/status.json");
  ASSERT_TRUE(saved.ok());
  auto& cs = (*saved)["status"]["containerStatuses"];
  cs.erase(std::remove_if(cs.begin(), cs.end(), [](const Json& c) { return c["name"] == "init"; }),
           cs.end());
  test::write_file(node_.pod_dir("u1") + "/status.json", saved->dump());

  StatsProvider stats({node_, "node-1"});
  NodeUsage u = stats.collect();
  ASSERT_EQ(u.pods.size(), 1u);
  const PodUsage& p = u.pods[0];
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.qos_class, "burstable");
  EXPECT_TRUE(p.running);
  ASSERT_EQ(p.containers.size(), 2u) << "main (newest run) and side; no pause, no init";
  EXPECT_EQ(p.containers[0].name, "main");
  EXPECT_EQ(p.containers[0].usage.cpu_ns, 2'000'000'000u) << "main-1, the newest run";
  EXPECT_EQ(p.containers[0].usage.working_set, uint64_t(16 << 20));
  EXPECT_EQ(p.containers[0].start_time, "2026-01-01T00:00:05Z");
  EXPECT_EQ(p.containers[1].name, "side");
  EXPECT_FALSE(p.nano_cores.has_value()) << "no earlier sample";
  EXPECT_GT(u.memory_total, 0u);
  EXPECT_GT(u.nodefs.capacity, 0u);

  stats.sample();
  cgroup("/kubepods/burstable/podu1/main-1", 2'500'000'000, 16 << 20, 0);  // +0.5 s of CPU
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  u = stats.collect();
  ASSERT_TRUE(u.pods[0].containers[0].nano_cores.has_value());
  uint64_t rate = *u.pods[0].containers[0].nano_cores;
  EXPECT_GT(rate, 250'000'000u) << "0.5 s of CPU in 1.1-2 s";
  EXPECT_LT(rate, 460'000'000u);
  EXPECT_EQ(*u.pods[0].containers[1].nano_cores, 0u) << "side did not run";
  EXPECT_TRUE(u.nano_cores.has_value()) << "the node's rate too";

  Json summary = stats.summary();
  EXPECT_EQ(summary["pods"][0]["podRef"]["name"], "web");
  EXPECT_EQ(summary["pods"][0]["containers"].size(), 2u);
  EXPECT_EQ(summary["node"]["nodeName"], "node-1");
  std::string metrics = stats.kubelet_metrics();
  EXPECT_NE(metrics.find("kubelet_running_pods 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("kubelet_running_containers{container_state=\"running\"} 2\n"),
            std::string::npos);
}

TEST_F(CollectTest, EvictionPassPicksByResourceAndSetsPressure) {
  add_pod("small", "small", "besteffort", {{"main-0", 1, 4 << 20, 0}}, true, 256 << 10);
  add_pod("big", "big", "burstable", {{"main-0", 1, 64 << 20, 0}}, true, 4 << 20);
  add_pod("done", "done", "besteffort", {{"main-0", 1, 1 << 20, 0}}, false, 8 << 20);
  std::vector<Json> api = {api_pod("small", "small", 0), api_pod("big", "big", 0, "128Mi"),
                           api_pod("done", "done", 0)};
  StatsProvider stats({node_, "node-1"});
  std::vector<std::pair<std::string, std::string>> evicted;
  auto evict = [&](const std::string& uid, const std::string& message,
                   int64_t grace_seconds) -> Result<void> {
    EXPECT_EQ(grace_seconds, 0) << "hard evictions have no grace";
    evicted.emplace_back(uid, message);
    return ok();
  };

  // Disk: nodefs below 100% of its capacity always; the running pod using the most goes.
  EvictionManager disk(
      stats, {{{"nodefs.available", 0, 100, "100%"}}, std::chrono::minutes(5), {}, {}, 0});
  EXPECT_EQ(disk.synchronize(api, evict), "big");
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_TRUE(evicted[0].second.starts_with(
      "The node was low on resource: ephemeral-storage. Threshold quantity: "))
      << evicted[0].second;
  EXPECT_TRUE(disk.pressure().disk);
  EXPECT_FALSE(disk.pressure().memory);

  // Memory: "big" is within its 128Mi request, so "small" (BestEffort, above its 0) goes first.
  EvictionManager mem(stats, {{{"memory.available", int64_t(1) << 60, 0, "1Ei"}},
                              std::chrono::milliseconds(0),
                              {},
                              {},
                              0});
  EXPECT_EQ(mem.synchronize(api, evict), "small");
  ASSERT_EQ(evicted.size(), 2u);
  EXPECT_NE(evicted[1].second.find("Container main was using 4Mi, request is 0, has larger "
                                   "consumption of memory."),
            std::string::npos)
      << evicted[1].second;
  EXPECT_TRUE(mem.pressure().memory);

  // Nothing crossed: no eviction, and with no transition period no pressure.
  EvictionManager none(
      stats, {{{"memory.available", 0, 0, "0"}}, std::chrono::milliseconds(0), {}, {}, 0});
  EXPECT_EQ(none.synchronize(api, evict), std::nullopt);
  EXPECT_EQ(evicted.size(), 2u);
  EXPECT_EQ(none.pressure(), NodePressure{});
  // A Failed pod in the API is not a candidate.
  api[1]["status"]["phase"] = "Failed";
  EXPECT_EQ(disk.synchronize(api, evict), "small");

  std::string metrics = stats.kubelet_metrics();
  EXPECT_NE(metrics.find("kubelet_evictions{eviction_signal=\"nodefs.available\"} 2\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("kubelet_evictions{eviction_signal=\"memory.available\"} 1\n"),
            std::string::npos);
}

// evictionSoft: the pressure condition at once, the eviction only once the threshold has stayed
// crossed for its grace period, the pod stopped within its own grace period capped at
// evictionMaxPodGracePeriod.
TEST_F(CollectTest, SoftThresholdEvictsAfterItsGracePeriodWithinTheMaxPodGrace) {
  add_pod("small", "small", "besteffort", {{"main-0", 1, 4 << 20, 0}}, true, 256 << 10);
  add_pod("big", "big", "burstable", {{"main-0", 1, 64 << 20, 0}}, true, 4 << 20);
  std::vector<Json> api = {api_pod("small", "small", 0), api_pod("big", "big", 0, "128Mi")};
  api[0]["spec"]["terminationGracePeriodSeconds"] = 20;
  StatsProvider stats({node_, "node-1"});
  std::vector<std::pair<std::string, int64_t>> evicted;
  auto evict = [&](const std::string& uid, const std::string&, int64_t grace) -> Result<void> {
    evicted.emplace_back(uid, grace);
    return ok();
  };
  auto ms = [](int n) { return std::chrono::milliseconds(n); };
  EvictionOptions o;
  o.hard = {};
  o.transition_period = ms(0);
  o.soft = {{"memory.available", int64_t(1) << 60, 0, "1Ei"}};  // always crossed
  o.soft_grace = {{"memory.available", ms(400)}};
  o.max_pod_grace_seconds = 5;
  EvictionManager mem(stats, o);
  EXPECT_EQ(mem.synchronize(api, evict), std::nullopt) << "crossed, but not for 400 ms yet";
  EXPECT_TRUE(mem.pressure().memory) << "the condition does not wait for the grace period";
  std::this_thread::sleep_for(ms(450));
  EXPECT_EQ(mem.synchronize(api, evict), "small");
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].second, 5) << "the pod's 20 s capped at evictionMaxPodGracePeriod";

  // A soft threshold never crossed: no pressure, nothing evicted.
  EvictionOptions o2 = o;
  o2.soft = {{"memory.available", 0, 0, "0"}};
  o2.soft_grace = {{"memory.available", ms(0)}};
  EvictionManager calm(stats, o2);
  EXPECT_EQ(calm.synchronize(api, evict), std::nullopt);
  EXPECT_FALSE(calm.pressure().memory);
  // A pod whose own grace period is under the cap keeps it.
  EvictionManager own(stats, o);
  EXPECT_EQ(own.synchronize(api, evict), std::nullopt);
  std::this_thread::sleep_for(ms(450));
  api[0]["spec"]["terminationGracePeriodSeconds"] = 2;
  EXPECT_EQ(own.synchronize(api, evict), "small");
  ASSERT_EQ(evicted.size(), 2u);
  EXPECT_EQ(evicted[1].second, 2);
}

// A soft threshold that stops being crossed starts its grace period over: crossed, uncrossed
// before the grace period ends, crossed again — no eviction until it has stayed crossed for a
// whole grace period. The signal is the state root's nodefs.available, moved by fallocate.
TEST_F(CollectTest, SoftThresholdUncrossedStartsItsGracePeriodOver) {
  add_pod("small", "small", "besteffort", {{"main-0", 1, 4 << 20, 0}}, true, 256 << 10);
  std::vector<Json> api = {api_pod("small", "small", 0)};
  StatsProvider stats({node_, "node-1"});
  std::vector<std::string> evicted;
  auto evict = [&](const std::string& uid, const std::string&, int64_t) -> Result<void> {
    evicted.push_back(uid);
    return ok();
  };
  auto ms = [](int n) { return std::chrono::milliseconds(n); };
  // The threshold 256 MiB under what is free now; a 512 MiB file crosses it.
  constexpr int64_t kMargin = int64_t(256) << 20;
  auto fs = fs_usage(node_.state_root);
  ASSERT_TRUE(fs);
  int64_t threshold = int64_t(fs->available) - kMargin;
  if (threshold <= kMargin)
    GTEST_SKIP() << "under 512 MiB free under " << node_.state_root << ": cannot move the signal";
  std::string filler = node_.state_root + "/filler";
  auto fill = [&] {
    int fd = ::open(filler.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    int err = fd < 0 ? errno : posix_fallocate(fd, 0, 2 * kMargin);
    if (fd >= 0) ::close(fd);
    return err;
  };
  EvictionOptions o;
  o.hard = {};
  o.transition_period = ms(0);
  o.soft = {{"nodefs.available", threshold, 0, format_quantity(threshold)}};
  o.soft_grace = {{"nodefs.available", ms(600)}};
  EvictionManager m(stats, o);
  EXPECT_EQ(m.synchronize(api, evict), std::nullopt);
  EXPECT_FALSE(m.pressure().disk) << "not crossed yet";

  int err = fill();
  if (err == EOPNOTSUPP) GTEST_SKIP() << "no fallocate on the filesystem of " << filler;
  ASSERT_EQ(err, 0) << strerror(err);
  EXPECT_EQ(m.synchronize(api, evict), std::nullopt) << "crossed, not for 600 ms yet";
  EXPECT_TRUE(m.pressure().disk);
  std::this_thread::sleep_for(ms(400));
  ASSERT_EQ(::unlink(filler.c_str()), 0);
  EXPECT_EQ(m.synchronize(api, evict), std::nullopt) << "no longer crossed";
  EXPECT_FALSE(m.pressure().disk);
  std::this_thread::sleep_for(ms(300));  // 700 ms since it was first crossed
  ASSERT_EQ(fill(), 0);
  EXPECT_EQ(m.synchronize(api, evict), std::nullopt) << "crossed again: the grace period restarts";
  EXPECT_TRUE(evicted.empty());
  std::this_thread::sleep_for(ms(650));
  EXPECT_EQ(m.synchronize(api, evict), "small") << "crossed for a whole grace period";
  EXPECT_EQ(evicted, std::vector<std::string>{"small"});
  ::unlink(filler.c_str());
}

}  // namespace
}  // namespace skiff::kubelet::node
