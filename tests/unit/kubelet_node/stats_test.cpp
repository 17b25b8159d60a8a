// The node's statistics: cgroup v1 and v2 counters read from fixture trees (the working set is
// usage minus inactive file pages), /proc/net/dev parsing, CPU rates, the Prometheus text format
// and the Summary API's shape.

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <vector>

#include "kubelet/node/stats.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::kubelet::node {
namespace {

using skiff::test::TempDir;
using skiff::test::write_file;

TEST(CgroupUsage, V1CpuacctAndMemory) {
  TempDir root("stats-v1");
  std::string rel = "/kubepods/besteffort/podU/c-0";
  write_file(root / ("cpuacct" + rel + "/cpuacct.usage"), "2500000000\n");
  write_file(root / ("memory" + rel + "/memory.usage_in_bytes"), "10485760\n");
  write_file(root / ("memory" + rel + "/memory.stat"),
             "cache 1\nrss 2\ninactive_file 4096\ntotal_rss 8388608\ntotal_inactive_file "
             "2097152\ntotal_pgfault 77\ntotal_pgmajfault 3\n");
  write_file(root / ("pids" + rel + "/pids.current"), "4\n");
  auto u = read_cgroup_usage(root.path(), rel);
  EXPECT_EQ(u.cpu_ns, 2500000000u);
  EXPECT_EQ(u.memory_usage, 10485760u);
  EXPECT_EQ(u.working_set, 10485760u - 2097152u) << "total_inactive_file, not inactive_file";
  EXPECT_EQ(u.rss, 8388608u);
  EXPECT_EQ(u.page_faults, 77u);
  EXPECT_EQ(u.major_page_faults, 3u);
  EXPECT_EQ(u.processes, 4u);
}

TEST(CgroupUsage, V2UnifiedAndWorkingSetNeverNegative) {
  TempDir root("stats-v2");
  write_file(root / "cgroup.controllers", "cpu memory pids\n");
  std::string rel = "/kubepods/podU";
  write_file(root / (rel.substr(1) + "/cpu.stat"), "usage_usec 1500000\nuser_usec 1000000\n");
  write_file(root / (rel.substr(1) + "/memory.current"), "4096\n");
  write_file(root / (rel.substr(1) + "/memory.stat"),
             "anon 1024\ninactive_file 8192\npgfault 9\npgmajfault 1\n");
  auto u = read_cgroup_usage(root.path(), rel);
  EXPECT_EQ(u.cpu_ns, 1500000000u);
  EXPECT_EQ(u.memory_usage, 4096u);
  EXPECT_EQ(u.working_set, 0u);
  EXPECT_EQ(u.rss, 1024u);
  EXPECT_EQ(u.page_faults, 9u);
  EXPECT_FALSE(u.processes.has_value());
  auto missing = read_cgroup_usage(root.path(), "/nope");
  EXPECT_FALSE(missing.cpu_ns.has_value());
  EXPECT_FALSE(missing.working_set.has_value());
}

// The table-driven parse on file contents as the kernel writes them, one host of each kind.
TEST(CgroupUsage, ParsesV1FilesOfAHybridHost) {
  std::map<std::string, std::string> files = {
      // cpu and cpuacct mounted together (no separate "cpuacct" hierarchy).
      {"cpu,cpuacct/cpuacct.usage", "731650046\n"},
      {"memory/memory.usage_in_bytes", "41037824\n"},
      // The cgroup's own counters first, then the hierarchical totals the kubelet uses.
      {"memory/memory.stat",
       "cache 12079104\nrss 7020544\nshmem 10395648\npgfault 314659\npgmajfault 0\n"
       "inactive_anon 0\nactive_anon 0\ninactive_file 24576\nactive_file 1658880\n"
       "hierarchical_memory_limit 9223372036854771712\ntotal_cache 35651584\n"
       "total_rss 5242880\ntotal_shmem 33554432\ntotal_pgfault 8410\ntotal_pgmajfault 2\n"
       "total_inactive_anon 33558528\ntotal_active_anon 5238784\n"
       "total_inactive_file 1048576\ntotal_active_file 1048576\n"}};
  std::vector<std::string> asked;
  auto u = parse_cgroup_usage(false, [&](const std::string& controller, const std::string& file) {
    asked.push_back(controller + "/" + file);
    auto it = files.find(controller + "/" + file);
    return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  EXPECT_EQ(u.cpu_ns, 731650046u) << "cpuacct.usage of cpu,cpuacct when there is no cpuacct";
  EXPECT_EQ(u.memory_usage, 41037824u);
  EXPECT_EQ(u.inactive_file, 1048576u) << "total_inactive_file, not inactive_file";
  EXPECT_EQ(u.working_set, 41037824u - 1048576u) << "shmem (a tmpfs file) stays in it";
  EXPECT_EQ(u.rss, 5242880u);
  EXPECT_EQ(u.page_faults, 8410u);
  EXPECT_EQ(u.major_page_faults, 2u);
  EXPECT_FALSE(u.processes.has_value()) << "no pids hierarchy";
  EXPECT_EQ(asked, (std::vector<std::string>{"cpuacct/cpuacct.usage", "cpu,cpuacct/cpuacct.usage",
                                             "memory/memory.usage_in_bytes", "memory/memory.stat",
                                             "pids/pids.current"}))
      << "each file read once";
}

TEST(CgroupUsage, ParsesV2FilesOfAUnifiedHost) {
  std::map<std::string, std::string> files = {
      {"cpu.stat",
       "usage_usec 2214931\nuser_usec 1520317\nsystem_usec 694614\nnr_periods 0\n"
       "nr_throttled 0\nthrottled_usec 0\n"},
      {"memory.current", "36864000\n"},
      {"memory.stat",
       "anon 2162688\nfile 34242560\nkernel_stack 32768\nshmem 33554432\n"
       "file_mapped 0\nactive_anon 2097152\ninactive_anon 33619968\nactive_file 344064\n"
       "inactive_file 344064\nworkingset_refault_file 0\npgfault 9231\npgmajfault 4\n"},
      {"pids.current", "2\n"}};
  auto u = parse_cgroup_usage(true, [&](const std::string& controller, const std::string& file) {
    EXPECT_EQ(controller, "") << "v2 has one hierarchy";
    auto it = files.find(file);
    return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  EXPECT_EQ(u.cpu_ns, 2214931000u) << "usage_usec in nanoseconds";
  EXPECT_EQ(u.memory_usage, 36864000u);
  EXPECT_EQ(u.working_set, 36864000u - 344064u);
  EXPECT_EQ(u.rss, 2162688u) << "anon";
  EXPECT_EQ(u.page_faults, 9231u);
  EXPECT_EQ(u.major_page_faults, 4u);
  EXPECT_EQ(u.processes, 2u);
  // A counter file that is not a number, and a stat file without the key: nothing, not 0.
  auto odd = parse_cgroup_usage(true, [](const std::string&, const std::string& file) {
    if (file == "memory.current") return std::optional<std::string>("max\n");
    if (file == "cpu.stat") return std::optional<std::string>("user_usec 5\n");
    return std::optional<std::string>();
  });
  EXPECT_FALSE(odd.memory_usage.has_value());
  EXPECT_FALSE(odd.working_set.has_value());
  EXPECT_FALSE(odd.cpu_ns.has_value());
}

TEST(NetDev, ParsesCountersPerInterface) {
  std::string text =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:     100       1    0    0    0     0          0         0      100       1    0 "
      "   0    0     0       0          0\n"
      "  eth0: 123456     10    2    0    0     0          0         0    65432      9    1    "
      "0    0     0       0          0\n";
  auto ifs = parse_net_dev(text);
  ASSERT_EQ(ifs.size(), 2u);
  EXPECT_EQ(ifs[1].name, "eth0");
  EXPECT_EQ(ifs[1].rx_bytes, 123456u);
  EXPECT_EQ(ifs[1].rx_errors, 2u);
  EXPECT_EQ(ifs[1].tx_bytes, 65432u);
  EXPECT_EQ(ifs[1].tx_errors, 1u);
}

TEST(NanoCores, RateBetweenSamples) {
  EXPECT_EQ(nano_cores(0, 500'000'000, 1'000'000'000), 500'000'000u);  // half a core
  EXPECT_EQ(nano_cores(1'000'000'000, 5'000'000'000, 2'000'000'000), 2'000'000'000u);
  EXPECT_EQ(nano_cores(5, 4, 1'000'000'000), 0u) << "a counter that went back";
  EXPECT_EQ(nano_cores(0, 4, 0), 0u);
}

TEST(PromText, FamiliesSamplesEscapesAndHistogram) {
  PromText p;
  p.family("kubelet_node_name", "The node's name.", "gauge");
  p.sample("kubelet_node_name", {{"node", "n\"1\\\n"}}, 1);
  p.sample("node_cpu_usage_seconds_total", {}, 1.5, 1700000000123);
  EXPECT_EQ(p.text(),
            "# HELP kubelet_node_name The node's name.\n"
            "# TYPE kubelet_node_name gauge\n"
            "kubelet_node_name{node=\"n\\\"1\\\\\\n\"} 1\n"
            "node_cpu_usage_seconds_total 1.5 1700000000123\n");
  Histogram h({1, 5});
  h.observe(0.5);
  h.observe(3);
  h.observe(9);
  PromText q;
  h.write(q, "x");
  EXPECT_EQ(q.text(),
            "x_bucket{le=\"1\"} 1\nx_bucket{le=\"5\"} 2\nx_bucket{le=\"+Inf\"} 3\n"
            "x_sum 12.5\nx_count 3\n");
}

NodeUsage sample_usage() {
  NodeUsage u;
  u.time = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  u.cpu_ns = 9'000'000'000;
  u.nano_cores = 250'000'000;
  u.memory_total = 8ull << 30;
  u.memory_usage = 3ull << 30;
  u.working_set = 2ull << 30;
  u.memory_available = 6ull << 30;
  u.nodefs = {100, 40, 60, 10, 4};
  u.imagefs = {200, 150, 50, 20, 19};
  u.max_pid = 4194304;
  u.processes = 300;
  u.interfaces = {{"eth0", 1, 0, 2, 0}};
  PodUsage p;
  p.uid = "u1";
  p.name = "burner";
  p.namespace_ = "default";
  p.start_time = "2023-11-14T22:10:00Z";
  p.usage.cpu_ns = 3'000'000'000;
  p.usage.working_set = 1 << 20;
  p.nano_cores = 900'000'000;
  PodUsage::Container c;
  c.name = "main";
  c.start_time = "2023-11-14T22:10:01Z";
  c.usage.cpu_ns = 2'900'000'000;
  c.usage.working_set = 900 << 10;
  p.containers.push_back(c);
  p.interfaces = {{"eth0", 10, 0, 20, 0}};
  p.ephemeral_bytes = 8192;
  u.pods.push_back(p);
  return u;
}

TEST(Summary, MetricsServerShape) {
  Json s = summary_json(sample_usage(), "node-1", "2023-11-01T00:00:00Z");
  const Json& n = s["node"];
  EXPECT_EQ(n["nodeName"], "node-1");
  EXPECT_EQ(n["startTime"], "2023-11-01T00:00:00Z");
  EXPECT_EQ(n["cpu"]["usageNanoCores"], 250000000);
  EXPECT_EQ(n["cpu"]["usageCoreNanoSeconds"], 9000000000ull);
  EXPECT_EQ(n["cpu"]["time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(n["memory"]["workingSetBytes"], 2ull << 30);
  EXPECT_EQ(n["memory"]["availableBytes"], 6ull << 30);
  EXPECT_EQ(n["fs"]["capacityBytes"], 100);
  EXPECT_EQ(n["fs"]["inodesUsed"], 6);
  EXPECT_EQ(n["runtime"]["imageFs"]["availableBytes"], 150);
  EXPECT_EQ(n["rlimit"]["curproc"], 300);
  EXPECT_EQ(n["network"]["interfaces"][0]["name"], "eth0");
  ASSERT_EQ(s["pods"].size(), 1u);
  const Json& p = s["pods"][0];
  EXPECT_EQ(p["podRef"], (Json{{"name", "burner"}, {"namespace", "default"}, {"uid", "u1"}}));
  EXPECT_EQ(p["cpu"]["usageNanoCores"], 900000000);
  EXPECT_EQ(p["containers"][0]["name"], "main");
  EXPECT_EQ(p["containers"][0]["memory"]["workingSetBytes"], 900 << 10);
  EXPECT_FALSE(p["containers"][0]["cpu"].contains("usageNanoCores")) << "no rate yet: omitted";
  EXPECT_EQ(p["network"]["rxBytes"], 10);
  EXPECT_EQ(p["ephemeral-storage"]["usedBytes"], 8192);
}

TEST(ResourceMetrics, WhatMetricsServerScrapes) {
  std::string t = resource_metrics_text(sample_usage());
  EXPECT_NE(t.find("# TYPE container_cpu_usage_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(t.find("container_cpu_usage_seconds_total{container=\"main\",namespace=\"default\","
                   "pod=\"burner\"} 2.9 1700000000000\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("container_memory_working_set_bytes{container=\"main\",namespace=\"default\","
                   "pod=\"burner\"} 921600 1700000000000\n"),
            std::string::npos);
  EXPECT_NE(t.find("node_cpu_usage_seconds_total 9 1700000000000\n"), std::string::npos);
  EXPECT_NE(t.find("node_memory_working_set_bytes 2147483648 1700000000000\n"), std::string::npos);
  EXPECT_NE(t.find("pod_memory_working_set_bytes{namespace=\"default\",pod=\"burner\"} 1048576"),
            std::string::npos);
  EXPECT_NE(t.find("container_start_time_seconds{container=\"main\",namespace=\"default\","
                   "pod=\"burner\"} 1699999801 "),
            std::string::npos);
  EXPECT_NE(t.find("scrape_error 0\n"), std::string::npos);
}

}  // namespace
}  // namespace skiff::kubelet::node
