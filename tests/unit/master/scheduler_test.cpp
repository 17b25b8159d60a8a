#include "master/scheduler/scheduler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "api/kinds.hpp"
#include "api/meta.hpp"
#include "master/store/sqlite_backend.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::master {
namespace {

NodeInfo node(const char* name, int64_t cpu_milli, int64_t mem_gi) {
  NodeInfo n;
  n.name = name;
  n.ready = true;
  n.labels = Json::object();
  n.taints = Json::array();
  n.allocatable = {cpu_milli, mem_gi * 1024 * 1024 * 1024 * 1000, 110};
  return n;
}

TEST(Scheduler, RequestsSumContainersAndMaxInitContainers) {
  Json pod = Json::parse(R"({"spec":{"containers":[
      {"resources":{"requests":{"cpu":"250m","memory":"64Mi"}}},
      {"resources":{"limits":{"cpu":"1"}}}],
    "initContainers":[{"resources":{"requests":{"cpu":"2"}}}]}})");
  Resources r = pod_requests(pod);
  EXPECT_EQ(r.cpu_milli, 2000);
  EXPECT_EQ(r.memory_milli, 64LL * 1024 * 1024 * 1000);
}

TEST(Scheduler, FiltersGiveKubesReasons) {
  NodeInfo n = node("n1", 1000, 1);
  Json pod =
      Json::parse(R"({"spec":{"containers":[{"resources":{"requests":{"memory":"2Gi"}}}]}})");
  EXPECT_EQ(filter_node(pod, pod_requests(pod), n), "Insufficient memory");
  Json small = Json::parse(R"({"spec":{"containers":[{"ports":[{"hostPort":80}]}],
                               "nodeSelector":{"disk":"ssd"}}})");
  EXPECT_EQ(filter_node(small, pod_requests(small), n), "node(s) didn't match node selector");
  n.labels["disk"] = "ssd";
  EXPECT_EQ(filter_node(small, pod_requests(small), n), "");
  n.host_ports.insert("TCP/80");
  EXPECT_EQ(filter_node(small, pod_requests(small), n),
            "node(s) didn't have free ports for the requested pod ports");
  n.host_ports.clear();
  n.taints = Json::parse(R"([{"key":"dedicated","value":"db","effect":"NoSchedule"}])");
  EXPECT_EQ(filter_node(small, pod_requests(small), n),
            "node(s) had taint {dedicated: db}, that the pod didn't tolerate");
  small["spec"]["tolerations"] =
      Json::parse(R"([{"key":"dedicated","operator":"Equal","value":"db"}])");
  EXPECT_EQ(filter_node(small, pod_requests(small), n), "");
  n.ready = false;
  EXPECT_NE(filter_node(small, pod_requests(small), n).find("not-ready"), std::string::npos);
  n.ready = true;
  n.unschedulable = true;
  EXPECT_EQ(filter_node(small, pod_requests(small), n), "node(s) were unschedulable");
}

TEST(Scheduler, RequiredNodeAffinity) {
  NodeInfo n = node("n1", 1000, 1);
  n.labels["zone"] = "a";
  Json pod = Json::parse(R"({"spec":{"affinity":{"nodeAffinity":{
    "requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[
      {"matchExpressions":[{"key":"zone","operator":"In","values":["b"]}]},
      {"matchExpressions":[{"key":"zone","operator":"NotIn","values":["c"]},
                           {"key":"gpu","operator":"DoesNotExist"}]}]}}}}})");
  EXPECT_EQ(filter_node(pod, pod_requests(pod), n), "");
  n.labels["gpu"] = "1";
  EXPECT_EQ(filter_node(pod, pod_requests(pod), n), "node(s) didn't match node selector");
}

TEST(Scheduler, ScoresPreferLeastAllocatedAndSpread) {
  NodeInfo empty = node("a", 4000, 8), busy = node("b", 4000, 8);
  busy.used.cpu_milli = 3000;
  Json pod = Json::parse(R"({"metadata":{"ownerReferences":[{"uid":"rs1","controller":true}]},
    "spec":{"containers":[{"resources":{"requests":{"cpu":"100m"}}}]}})");
  Resources r = pod_requests(pod);
  EXPECT_GT(score_node(pod, r, empty), score_node(pod, r, busy));
  NodeInfo same = node("c", 4000, 8);
  same.owner_pods["rs1"] = 3;
  EXPECT_GT(score_node(pod, r, empty), score_node(pod, r, same));
}

TEST(Scheduler, UnschedulableMessage) {
  EXPECT_EQ(unschedulable_message(
                3, {{"Insufficient memory", 2}, {"node(s) didn't match node selector", 1}}),
            "0/3 nodes are available: 2 Insufficient memory, 1 node(s) didn't match node "
            "selector.");
}

// kube-scheduler's numFeasibleNodesToFind: all below 100 nodes, else 50% - nodes/125 (at least
// 5%) of them, and never fewer than 100.
TEST(Scheduler, NodesToFindIsKubesAdaptivePercentage) {
  EXPECT_EQ(nodes_to_find(0), 0u);
  EXPECT_EQ(nodes_to_find(50), 50u);
  EXPECT_EQ(nodes_to_find(99), 99u);
  EXPECT_EQ(nodes_to_find(200), 100u);    // 49% = 98, raised to 100
  EXPECT_EQ(nodes_to_find(1000), 420u);   // 42%
  EXPECT_EQ(nodes_to_find(5000), 500u);   // 10%
  EXPECT_EQ(nodes_to_find(10000), 500u);  // 5% (the floor)
  EXPECT_EQ(nodes_to_find(1000, 100), 1000u);
  EXPECT_EQ(nodes_to_find(1000, 20), 200u);
}

std::vector<NodeInfo> many_nodes(size_t count) {
  std::vector<NodeInfo> nodes;
  for (size_t i = 0; i < count; i++)
    nodes.push_back(node(("n" + std::to_string(i)).c_str(), 32000, 128));
  return nodes;
}

std::vector<NodeInfo*> pointers(std::vector<NodeInfo>& nodes) {
  std::vector<NodeInfo*> out;
  for (auto& n : nodes) out.push_back(&n);
  return out;
}

// Sampling stops once enough feasible nodes are found — but a pod that fits on 3 of 1,000 nodes
// is filtered against all of them, from any start, and lands on one of the 3.
TEST(Scheduler, SampledPodStillLandsWhenOnlyAFewNodesFit) {
  auto nodes = many_nodes(1000);
  auto order = pointers(nodes);
  for (size_t i : {17u, 503u, 998u}) nodes[i].labels["disk"] = "ssd";
  Json pod = Json::parse(R"({"spec":{"nodeSelector":{"disk":"ssd"},"containers":[{}]}})");
  PodInfo info = pod_info(pod);
  for (size_t start : {0u, 18u, 504u, 999u, 500u}) {
    Pick p = pick_node(info, order, start, nodes_to_find(order.size()), start);
    ASSERT_NE(p.node, nullptr) << "start " << start;
    EXPECT_EQ(p.node->labels.value("disk", ""), "ssd");
    EXPECT_EQ(p.examined, 1000u);
    EXPECT_EQ(p.reasons["node(s) didn't match node selector"], 997);
  }
  // Every node fits: only the sample is filtered.
  Json plain = Json::parse(R"({"spec":{"containers":[{}]}})");
  Pick p = pick_node(pod_info(plain), order, 990, nodes_to_find(order.size()), 1);
  EXPECT_EQ(p.examined, 420u);
  ASSERT_NE(p.node, nullptr);
  size_t index = static_cast<size_t>(p.node - nodes.data());
  EXPECT_TRUE(index >= 990 || index < 410) << index;  // from the start, wrapping
  // None fits: every node is tried and every reason counted.
  Json big = Json::parse(R"({"spec":{"containers":[{"resources":{"requests":{"cpu":"64"}}}]}})");
  Pick none = pick_node(pod_info(big), order, 7, nodes_to_find(order.size()), 1);
  EXPECT_EQ(none.node, nullptr);
  EXPECT_EQ(none.examined, 1000u);
  EXPECT_EQ(none.reasons["Insufficient cpu"], 1000);
}

// Scheduling 300 pods of one owner, then 3,000 unowned ones, the way the scheduler does (rotating
// start, each choice counted before the next): the owner's pods never share a node, and the
// others spread over nearly every node rather than piling onto the sampled window's first.
TEST(Scheduler, SpreadStillWorksWithSampling) {
  auto nodes = many_nodes(1000);
  auto order = pointers(nodes);
  Json owned = Json::parse(R"({"metadata":{"ownerReferences":[{"controller":true,"uid":"u1"}]},
      "spec":{"containers":[{"resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}})");
  Json plain = Json::parse(
      R"({"spec":{"containers":[{"resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}})");
  size_t start = 0;
  uint64_t seed = 0;
  auto place = [&](const Json& pod) {
    PodInfo info = pod_info(pod);
    Pick p = pick_node(info, order, start, nodes_to_find(order.size()), ++seed);
    start = (start + p.examined) % order.size();
    EXPECT_NE(p.node, nullptr);
    if (!p.node) return;
    p.node->used.pods++;
    p.node->used.cpu_milli += info.requests.cpu_milli;
    p.node->used.memory_milli += info.requests.memory_milli;
    if (!info.owner.empty()) p.node->owner_pods[info.owner]++;
  };
  for (int i = 0; i < 300; i++) place(owned);
  size_t with_owner = 0;
  for (const auto& n : nodes) {
    auto it = n.owner_pods.find("u1");
    if (it == n.owner_pods.end()) continue;
    with_owner++;
    EXPECT_EQ(it->second, 1) << n.name;
  }
  EXPECT_EQ(with_owner, 300u);
  for (int i = 0; i < 3000; i++) place(plain);
  size_t used = 0;
  int64_t most = 0;
  for (const auto& n : nodes) {
    used += n.used.pods > 0;
    most = std::max(most, n.used.pods);
  }
  EXPECT_GT(used, 900u);  // ~950 expected for 3,300 pods over 1,000 nodes
  EXPECT_LE(most, 12);
}

// The running scheduler against a real store: 300 Ready nodes, one labelled; a pod selecting the
// label lands there, an owner's 20 pods land on 20 nodes, and a pod no node fits gets kube's
// message naming all 300 nodes.
TEST(SchedulerRun, BindsThroughTheStoreWithSampling) {
  test::TempDir dir{"skiff-scheduler"};
  auto b = SqliteBackend::open(dir / "state.db");
  ASSERT_TRUE(b.ok()) << b.error().what();
  auto store = Store::open(std::move(*b));
  ASSERT_TRUE(store.ok()) << store.error().what();
  auto reg = Registry::create(**store, RegistryOptions{});
  ASSERT_TRUE(reg.ok()) << reg.error().what();
  ASSERT_TRUE((*reg)->bootstrap().ok());
  Identity admin{"admin", {"system:masters"}};
  const auto& nodes = *api::find_resource("", "nodes");
  const auto& pods = *api::find_resource("", "pods");
  for (int i = 0; i < 300; i++) {
    std::string name = "n" + std::to_string(i);
    Json n = {{"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
              {"status",
               {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
                {"allocatable", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}}}}}};
    if (i == 137) n["metadata"]["labels"]["disk"] = "ssd";
    auto r = (*reg)->create(nodes, "", n, admin);
    ASSERT_TRUE(r.ok()) << r.error->message;
  }
  Scheduler sched(**reg);
  ASSERT_TRUE(sched.start().ok());
  auto pod = [](const std::string& name) {
    return Json{{"metadata", {{"name", name}}},
                {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  };
  Json picky = pod("picky");
  picky["spec"]["nodeSelector"] = {{"disk", "ssd"}};
  ASSERT_TRUE((*reg)->create(pods, "default", picky, admin).ok());
  for (int i = 0; i < 20; i++) {
    Json p = pod("web-" + std::to_string(i));
    p["metadata"]["ownerReferences"] = {{{"apiVersion", "apps/v1"},
                                         {"kind", "ReplicaSet"},
                                         {"name", "web"},
                                         {"uid", "u-web"},
                                         {"controller", true}}};
    ASSERT_TRUE((*reg)->create(pods, "default", p, admin).ok());
  }
  Json nowhere = pod("nowhere");
  nowhere["spec"]["nodeSelector"] = {{"disk", "nvme"}};
  ASSERT_TRUE((*reg)->create(pods, "default", nowhere, admin).ok());
  auto node_of = [&](const std::string& name) {
    Object o = (*store)->get("/pods/default/" + name);
    return o ? api::str_at(*o.json, {"spec", "nodeName"}) : std::string();
  };
  auto message_of_nowhere = [&] {
    Object o = (*store)->get("/pods/default/nowhere");
    if (const Json* cs = api::at_path(*o.json, {"status", "conditions"}); cs && cs->is_array())
      for (const auto& c : *cs)
        if (c.value("type", "") == "PodScheduled") return c.value("message", "");
    return std::string();
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto all_done = [&] {
    if (node_of("picky").empty() || message_of_nowhere().empty()) return false;
    for (int i = 0; i < 20; i++)
      if (node_of("web-" + std::to_string(i)).empty()) return false;
    return true;
  };
  while (!all_done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(node_of("picky"), "n137");
  std::set<std::string> web_nodes;
  for (int i = 0; i < 20; i++) web_nodes.insert(node_of("web-" + std::to_string(i)));
  web_nodes.erase("");
  EXPECT_EQ(web_nodes.size(), 20u);
  EXPECT_EQ(node_of("nowhere"), "");
  EXPECT_EQ(message_of_nowhere(),
            "0/300 nodes are available: 300 node(s) didn't match node selector.");
  sched.stop();
}

}  // namespace
}  // namespace skiff::master
