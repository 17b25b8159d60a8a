#include "master/scheduler/scheduler.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace skiff::master
