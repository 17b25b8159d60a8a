// The eviction manager's pure parts: evictionHard parsing (and the KubeletConfiguration fields),
// thresholds in quantities and percentages, the kubelet's ranking (usage above requests, then
// priority, then the amount above requests), its message, the pressure conditions and taints.

#include <gtest/gtest.h>

#include "common/fs.hpp"
#include "kubelet/node/eviction.hpp"
#include "kubelet/node/kubelet.hpp"
#include "kubelet/node/node_info.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::kubelet::node {
namespace {

TEST(EvictionHard, DefaultsAreTheKubelets) {
  auto d = default_eviction_hard();
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].signal, "memory.available");
  EXPECT_EQ(d[0].quantity, 100 << 20);
  EXPECT_EQ(d[1].signal, "nodefs.available");
  EXPECT_EQ(d[1].percent, 10);
  EXPECT_EQ(d[3].signal, "imagefs.available");
  EXPECT_EQ(d[3].percent, 15);
}

TEST(EvictionHard, ParsesQuantitiesAndPercentagesAndNamesBadFields) {
  auto t = parse_eviction_hard(
      Json{{"memory.available", "200Mi"}, {"nodefs.available", "12.5%"}, {"pid.available", "100"}});
  ASSERT_TRUE(t.ok()) << t.error().what();
  ASSERT_EQ(t->size(), 3u);
  std::map<std::string, Threshold> by;
  for (const auto& x : *t) by[x.signal] = x;
  EXPECT_EQ(by["memory.available"].quantity, 200 << 20);
  EXPECT_EQ(by["nodefs.available"].percent, 12.5);
  EXPECT_EQ(by["pid.available"].quantity, 100);

  auto bad = parse_eviction_hard(Json{{"memory.free", "1Gi"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("evictionHard.memory.free: unknown eviction signal"),
            std::string::npos)
      << bad.error().what();
  bad = parse_eviction_hard(Json{{"nodefs.available", "120%"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("evictionHard.nodefs.available: invalid percentage"),
            std::string::npos);
  bad = parse_eviction_hard(Json{{"memory.available", "lots"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("invalid quantity `lots`"), std::string::npos);
  EXPECT_FALSE(parse_eviction_hard(Json{{"memory.available", 5}}).ok());
  EXPECT_FALSE(parse_eviction_hard(Json::array()).ok());
}

TEST(EvictionHard, KubeletConfigurationFields) {
  test::TempDir dir("evict-conf");
  std::string f = dir / "config.yaml";
  ASSERT_TRUE(write_file(f,
                         "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                         "evictionHard:\n  memory.available: 1Gi\n  nodefs.available: '50%'\n"
                         "evictionPressureTransitionPeriod: 30s\nhousekeepingInterval: 2s\n"
                         "imageGCHighThresholdPercent: 70\nimageGCLowThresholdPercent: 60\n"
                         "imageMinimumGCAge: 1m30s\n")
                  .ok());
  KubeletOptions o;
  auto r = load_kubelet_config(f, o);
  ASSERT_TRUE(r.ok()) << r.error().what();
  ASSERT_EQ(o.eviction_hard.size(), 2u);
  EXPECT_EQ(o.eviction_transition, std::chrono::seconds(30));
  EXPECT_EQ(o.housekeeping, std::chrono::seconds(2));
  EXPECT_EQ(o.image_gc_high, 70);
  EXPECT_EQ(o.image_gc_low, 60);
  EXPECT_EQ(o.image_gc_min_age, std::chrono::seconds(90));

  // Each file on its own (fresh options): "" when it loads, else the error.
  auto error_of = [&](const std::string& text, KubeletOptions* into = nullptr) {
    EXPECT_TRUE(write_file(f, text).ok());
    KubeletOptions fresh;
    auto loaded = load_kubelet_config(f, into ? *into : fresh);
    return loaded ? std::string() : loaded.error().what();
  };
  EXPECT_EQ(error_of("imageMinimumGCAge: 0s\n", &o), "");
  EXPECT_EQ(o.image_gc_min_age, std::chrono::seconds(0)) << "0s: any unused image may go";
  EXPECT_NE(error_of("imageMinimumGCAge: soon\n").find("imageMinimumGCAge: invalid duration"),
            std::string::npos);
  EXPECT_NE(error_of("housekeepingInterval: 0s\n").find("housekeepingInterval: invalid duration"),
            std::string::npos)
      << "a period of 0 is no period";

  std::string e = error_of("evictionHard:\n  imagefs.available: '-3%'\n");
  EXPECT_NE(e.find("evictionHard.imagefs.available"), std::string::npos) << e;
  EXPECT_NE(e.find(f), std::string::npos) << "names the file";
  e = error_of("imageGCHighThresholdPercent: 50\nimageGCLowThresholdPercent: 60\n");
  EXPECT_NE(e.find("imageGCLowThresholdPercent (60) must not exceed"), std::string::npos) << e;
  EXPECT_NE(error_of("imageGCHighThresholdPercent: 101\n"), "");

  // evictionSoft: each threshold with its grace period; the pod grace cap in seconds.
  KubeletOptions s;
  e = error_of(
      "evictionSoft:\n  memory.available: 500Mi\n  nodefs.available: '15%'\n"
      "evictionSoftGracePeriod:\n  memory.available: 1m30s\n"
      "  nodefs.available: 2m\nevictionMaxPodGracePeriod: 60\n",
      &s);
  ASSERT_EQ(e, "");
  ASSERT_EQ(s.eviction_soft.size(), 2u);
  EXPECT_EQ(s.eviction_soft_grace.at("memory.available"), std::chrono::seconds(90));
  EXPECT_EQ(s.eviction_soft_grace.at("nodefs.available"), std::chrono::minutes(2));
  EXPECT_EQ(s.eviction_max_pod_grace, 60);
  e = error_of("evictionSoft:\n  memory.available: 500Mi\n");
  EXPECT_NE(e.find("evictionSoft.memory.available: no grace period"), std::string::npos) << e;
  e = error_of("evictionSoftGracePeriod:\n  pid.available: 10s\n");
  EXPECT_NE(e.find("evictionSoftGracePeriod.pid.available: no soft threshold"), std::string::npos)
      << e;
  e = error_of("evictionSoft:\n  memory.free: 1Gi\n");
  EXPECT_NE(e.find("evictionSoft.memory.free: unknown eviction signal"), std::string::npos) << e;
  EXPECT_NE(error_of("evictionMaxPodGracePeriod: -1\n"), "");
}

TEST(Thresholds, QuantityAndPercentOfCapacity) {
  Threshold mem{"memory.available", 100 << 20, 0, "100Mi"};
  EXPECT_TRUE(threshold_crossed(mem, {50 << 20, 1 << 30}));
  EXPECT_FALSE(threshold_crossed(mem, {100 << 20, 1 << 30}));
  Threshold fs{"nodefs.available", 0, 10, "10%"};
  EXPECT_TRUE(threshold_crossed(fs, {9, 100}));
  EXPECT_FALSE(threshold_crossed(fs, {10, 100}));
  EXPECT_FALSE(threshold_crossed(fs, {0, 0})) << "a signal with no capacity is not observed";

  NodeUsage u;
  u.memory_total = 1000;
  u.memory_available = 300;
  u.nodefs = {100, 7, 93, 50, 40};
  u.max_pid = 1000;
  u.processes = 990;
  auto obs = observe_signals(u);
  EXPECT_EQ(obs["memory.available"].available, 300);
  EXPECT_EQ(obs["nodefs.available"].available, 7);
  EXPECT_EQ(obs["nodefs.inodesFree"].capacity, 50);
  EXPECT_EQ(obs["pid.available"].available, 10);
  EXPECT_EQ(starved_resource("memory.available"), "memory");
  EXPECT_EQ(starved_resource("imagefs.available"), "ephemeral-storage");
  EXPECT_EQ(starved_resource("pid.available"), "pids");
}

TEST(Ranking, AboveRequestsThenPriorityThenAmountAbove) {
  auto pod = [](std::string name, std::string qos, int32_t prio, int64_t usage, int64_t req) {
    EvictionCandidate c;
    c.uid = c.name = name;
    c.qos_class = qos;
    c.priority = prio;
    c.usage = usage;
    c.request = req;
    return c;
  };
  std::vector<EvictionCandidate> pods = {
      pod("guaranteed", "Guaranteed", 0, 90, 100),     // within its requests
      pod("burstable-small", "Burstable", 0, 60, 50),  // 10 above
      pod("besteffort", "BestEffort", 0, 30, 0),       // 30 above
      pod("burstable-big", "Burstable", 0, 200, 100),  // 100 above
      pod("critical", "BestEffort", 1000, 500, 0),     // above, but higher priority
  };
  rank_for_eviction(pods);
  std::vector<std::string> order;
  for (const auto& p : pods) order.push_back(p.name);
  EXPECT_EQ(order, (std::vector<std::string>{"burstable-big", "besteffort", "burstable-small",
                                             "critical", "guaranteed"}));
}

TEST(Message, TheKubeletsWording) {
  Threshold mem{"memory.available", 100 << 20, 0, "100Mi"};
  EvictionCandidate c;
  c.top_container = "hog";
  c.top_container_usage = 60 << 20;
  c.top_container_request = 0;
  EXPECT_EQ(eviction_message("memory", mem, {51201 << 10, 1 << 30}, c),
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: "
            "51201Ki. Container hog was using 60Mi, request is 0, has larger consumption of "
            "memory. ");
  Threshold fs{"nodefs.available", 0, 50, "50%"};
  EXPECT_EQ(eviction_message("ephemeral-storage", fs, {1 << 20, 16 << 20}, EvictionCandidate{}),
            "The node was low on resource: ephemeral-storage. Threshold quantity: 8Mi, "
            "available: 1Mi. ");
}

TEST(Pressure, ConditionsAndTaints) {
  NodeFacts f;
  f.name = "n";
  NodePressure p;
  p.disk = true;
  Json s = node_status(f, "2026-01-01T00:00:00Z", p);
  std::map<std::string, Json> by;
  for (const auto& c : s["conditions"]) by[c["type"].get<std::string>()] = c;
  EXPECT_EQ(by["DiskPressure"]["status"], "True");
  EXPECT_EQ(by["DiskPressure"]["reason"], "KubeletHasDiskPressure");
  EXPECT_EQ(by["MemoryPressure"]["status"], "False");
  EXPECT_EQ(by["Ready"]["status"], "True") << "pressure does not make a node NotReady";
  EXPECT_NE(status_fingerprint(s), status_fingerprint(node_status(f, "2026-01-01T00:00:00Z")));

  Json other = {{"key", "dedicated"}, {"value", "gpu"}, {"effect", "NoSchedule"}};
  Json taints = pressure_taints(Json::array({other}), p);
  EXPECT_EQ(taints,
            Json::array(
                {other, {{"key", "node.kubernetes.io/disk-pressure"}, {"effect", "NoSchedule"}}}));
  EXPECT_EQ(pressure_taints(taints, NodePressure{}), Json::array({other}));
}

}  // namespace
}  // namespace skiff::kubelet::node
