// Pod-level resources as Kubernetes computes them (PodRequests/PodLimits with init containers and
// native sidecars), the QoS class and the pod cgroup's path and limits.

#include <gtest/gtest.h>

#include "kubelet/engine/pod_cgroup.hpp"

namespace skiff::kubelet {
namespace {

Pod pod(const std::string& spec) {
  auto m = parse_manifest("apiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: u1}\nspec:\n" + spec,
                          "p.yaml");
  EXPECT_TRUE(m.ok()) << m.error().what();
  return m ? m->pod : Pod();
}

std::string res(const char* cpu_req, const char* mem_req, const char* cpu_lim,
                const char* mem_lim) {
  std::string r = "    resources:\n";
  std::string req, lim;
  if (cpu_req) req += cat("        cpu: ", cpu_req, "\n");
  if (mem_req) req += cat("        memory: ", mem_req, "\n");
  if (cpu_lim) lim += cat("        cpu: ", cpu_lim, "\n");
  if (mem_lim) lim += cat("        memory: ", mem_lim, "\n");
  if (!req.empty()) r += "      requests:\n" + req;
  if (!lim.empty()) r += "      limits:\n" + lim;
  return r;
}

std::string c(const std::string& name, const std::string& resources, bool sidecar = false) {
  return cat("  - name: ", name, "\n    image: busybox\n",
             sidecar ? "    restartPolicy: Always\n" : "", resources);
}

TEST(PodCgroup, BestEffort) {
  Pod p = pod("  containers:\n" + c("a", "") + c("b", ""));
  EXPECT_EQ(pod_qos_class(p), "BestEffort");
  NodeConfig n;
  EXPECT_EQ(pod_cgroup_path(n, p), "/kubepods/besteffort/podu1");
  auto r = pod_cgroup_resources(p, 0);
  ASSERT_TRUE(r.cpu && r.cpu->shares);
  EXPECT_EQ(*r.cpu->shares, 2u);
  EXPECT_FALSE(r.cpu->quota);
  EXPECT_FALSE(r.memory);
  EXPECT_FALSE(r.pids);
}

TEST(PodCgroup, GuaranteedSumsTheContainers) {
  Pod p = pod("  containers:\n" + c("a", res("500m", "64Mi", "500m", "64Mi")) +
              c("b", res(nullptr, nullptr, "250m", "32Mi")));
  EXPECT_EQ(pod_qos_class(p), "Guaranteed");
  NodeConfig n;
  n.cgroup_parent = "/test/";
  EXPECT_EQ(pod_cgroup_path(n, p), "/test/podu1");
  auto r = pod_cgroup_resources(p, 100);
  EXPECT_EQ(*r.cpu->shares, 750u * 1024 / 1000);
  EXPECT_EQ(*r.cpu->quota, 75000);
  EXPECT_EQ(*r.cpu->period, 100000u);
  EXPECT_EQ(*r.memory->limit, 96 << 20);
  ASSERT_TRUE(r.pids);
  EXPECT_EQ(r.pids->limit, 100);
}

TEST(PodCgroup, BurstableWithoutEveryLimitHasNoPodLimit) {
  Pod p = pod("  containers:\n" + c("a", res("100m", "10Mi", "1", "20Mi")) +
              c("b", res("200m", nullptr, nullptr, nullptr)));
  EXPECT_EQ(pod_qos_class(p), "Burstable");
  NodeConfig n;
  EXPECT_EQ(pod_cgroup_path(n, p), "/kubepods/burstable/podu1");
  Resources r = pod_resources(p);
  EXPECT_EQ(r.cpu_request, 300);
  EXPECT_EQ(r.memory_request, 10 << 20);
  EXPECT_FALSE(r.cpu_limit);  // b has none: the pod is not capped
  EXPECT_FALSE(r.memory_limit);
  auto o = pod_cgroup_resources(p, 0);
  EXPECT_EQ(*o.cpu->shares, 300u * 1024 / 1000);
  EXPECT_FALSE(o.cpu->quota);
  EXPECT_FALSE(o.memory);
}

TEST(PodCgroup, InitContainersCountByTheirMaximum) {
  // Init 2 CPUs alone is more than the main containers' 1.5: the pod needs 2.
  Pod p =
      pod("  initContainers:\n" + c("i1", res("2", "1Gi", "2", "1Gi")) +
          c("i2", res("1", "100Mi", "1", "100Mi")) + "  containers:\n" +
          c("a", res("1", "200Mi", "1", "200Mi")) + c("b", res("500m", "50Mi", "500m", "50Mi")));
  Resources r = pod_resources(p);
  EXPECT_EQ(r.cpu_request, 2000);
  EXPECT_EQ(r.cpu_limit, 2000);
  EXPECT_EQ(r.memory_limit, int64_t(1) << 30);
}

TEST(PodCgroup, SidecarsAddToEverythingAfterThem) {
  // The sidecar (300m) runs beside the later init container (1) and the main ones (500m):
  // max(1 + 0.3, 0.5 + 0.3) = 1.3 CPUs.
  Pod p = pod("  initContainers:\n" + c("side", res("300m", "10Mi", "300m", "10Mi"), true) +
              c("init", res("1", "10Mi", "1", "10Mi")) + "  containers:\n" +
              c("a", res("500m", "100Mi", "500m", "100Mi")));
  Resources r = pod_resources(p);
  EXPECT_EQ(r.cpu_request, 1300);
  EXPECT_EQ(r.cpu_limit, 1300);
  EXPECT_EQ(r.memory_limit, 110 << 20);
}

}  // namespace
}  // namespace skiff::kubelet
