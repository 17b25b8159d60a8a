#pragma once
// The kubelet's resource statistics, as metrics-server and `kubectl top` read them:
//   /stats/summary     the Summary API (k8s.io/kubelet/pkg/apis/stats/v1alpha1): node and pods,
//                      each with cpu, memory, network, fs; containers with cpu and memory
//   /metrics/resource  the same figures in Prometheus text (what metrics-server 0.6 scrapes)
//   /metrics           the kubelet's own: running pods and containers, node name, evictions,
//                      process CPU and memory
// Read from the pod and container cgroups (cgroup v1 — cpuacct, memory — or the unified v2
// hierarchy: cpu.stat, memory.current/memory.stat), /proc and statfs. CPU rates (usageNanoCores)
// come from two samples: a sampler takes one of everything every period (cAdvisor's housekeeping),
// a request compares what it reads now with the newest sample at least a second old.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "kubelet/engine/config.hpp"

namespace skiff::kubelet::node {

// One cgroup's counters; a field is nullopt when the cgroup has no such file.
struct CgroupUsage {
  std::optional<uint64_t> cpu_ns;  // cumulative CPU time
  std::optional<uint64_t> memory_usage, working_set, rss, page_faults, major_page_faults;
  std::optional<uint64_t> inactive_file;  // what the working set leaves out of the usage
  std::optional<uint64_t> processes;      // pids.current
};

// Reads cgroup `rel` ("/kubepods/podUID/c-0") under `root` (/sys/fs/cgroup): v2 when the root
// has cgroup.controllers, else v1's cpuacct and memory hierarchies. The working set is the
// kubelet's: usage minus inactive file pages, never below 0.
CgroupUsage read_cgroup_usage(const std::string& root, const std::string& rel);

// The same from file contents: `read(controller, file)` gives a cgroup file's text (nullopt when
// there is none); `controller` is the v1 hierarchy ("memory", "cpuacct", "cpu,cpuacct", "pids"),
// "" on v2. One table per version says which file and key fills which counter.
using CgroupFileReader = std::function<std::optional<std::string>(const std::string& controller,
                                                                  const std::string& file)>;
CgroupUsage parse_cgroup_usage(bool v2, const CgroupFileReader& read);

// /proc/net/dev's table: interface -> {rx bytes, rx errors, tx bytes, tx errors}.
struct InterfaceCounters {
  std::string name;
  uint64_t rx_bytes = 0, rx_errors = 0, tx_bytes = 0, tx_errors = 0;
};
std::vector<InterfaceCounters> parse_net_dev(const std::string& text);

// CPU rate in nanocores between two cumulative readings `dt_ns` apart (0 when the counter went
// back: the cgroup was made again).
uint64_t nano_cores(uint64_t prev_cpu_ns, uint64_t cur_cpu_ns, int64_t dt_ns);

// Prometheus text exposition format 0.0.4, written family by family.
class PromText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  void family(const std::string& name, const std::string& help, const std::string& type);
  // One sample; `ts_ms` (milliseconds since the epoch) 0: none.
  void sample(const std::string& name, const Labels& labels, double value, int64_t ts_ms = 0);
  const std::string& text() const { return out_; }
  // A label value escaped: backslash, double quote and newline.
  static std::string escape(const std::string& v);

 private:
  std::string out_;
};

// A histogram's buckets (cumulative on output), sum and count.
struct Histogram {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;  // per bucket, not cumulative; one more for +Inf
  double sum = 0;
  uint64_t count = 0;
  explicit Histogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size() + 1) {}
  void observe(double v);
  void write(PromText& p, const std::string& name) const;
};

struct StatsOptions {
  NodeConfig node;  // the roots: pods (state_root), images, logs, cgroups
  std::string node_name;
};

// One pod's figures (what the summary and the eviction manager both use).
struct PodUsage {
  std::string uid, name, namespace_;
  std::string qos_class;
  std::string start_time;  // RFC 3339
  std::string cgroup;      // relative, "" when the pod has none
  CgroupUsage usage;
  std::optional<uint64_t> nano_cores;
  struct Container {
    std::string name, start_time;
    CgroupUsage usage;
    std::optional<uint64_t> nano_cores;
  };
  std::vector<Container> containers;
  std::vector<InterfaceCounters> interfaces;  // the pod netns' (lo left out)
  uint64_t ephemeral_bytes = 0;               // pod dir and logs
  uint64_t log_bytes = 0;
  bool running = false;
};

struct NodeUsage {
  std::chrono::system_clock::time_point time;
  uint64_t cpu_ns = 0;
  std::optional<uint64_t> nano_cores;
  uint64_t memory_total = 0, memory_usage = 0, working_set = 0, rss = 0, page_faults = 0,
           major_page_faults = 0;
  uint64_t memory_available = 0;  // the eviction signal memory.available: total - working set
  struct Fs {
    uint64_t capacity = 0, available = 0, used = 0, inodes = 0, inodes_free = 0;
  } nodefs, imagefs;
  uint64_t max_pid = 0, processes = 0;
  std::vector<InterfaceCounters> interfaces;
  std::vector<PodUsage> pods;
};

// statfs of `path`.
std::optional<NodeUsage::Fs> fs_usage(const std::string& path);

class StatsProvider {
 public:
  explicit StatsProvider(StatsOptions o);
  // Everything, now; CPU rates against the newest sample at least a second old.
  NodeUsage collect();
  // Records a sample of every CPU counter (the sampler calls this each period).
  void sample();
  // The Summary API's JSON.
  Json summary();
  // /metrics/resource.
  std::string resource_metrics();
  // Counters the kubelet keeps about itself, exposed by /metrics.
  void count_eviction(const std::string& signal);
  void observe_pod_start(double seconds);
  std::string kubelet_metrics();

 private:
  struct Sample {
    int64_t t_ns;
    uint64_t cpu_ns;
  };
  // Keeps the CPU counters of `u` as a sample (requests count too: two scrapes a second apart
  // give a rate, as the kubelet's history does).
  void remember(const NodeUsage& u);
  std::optional<uint64_t> rate(const std::string& key, uint64_t cpu_ns, int64_t now_ns);

  StatsOptions o_;
  std::mutex mu_;
  std::map<std::string, std::vector<Sample>> history_;  // key -> last samples, oldest first
  std::map<std::string, uint64_t> evictions_;
  Histogram pod_start_{{0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300}};
};

// Summary JSON from collected figures (pure: unit-tested).
Json summary_json(const NodeUsage& u, const std::string& node_name,
                  const std::string& node_start_time);
// /metrics/resource text from collected figures (pure).
std::string resource_metrics_text(const NodeUsage& u);

}  // namespace skiff::kubelet::node
