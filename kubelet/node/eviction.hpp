#pragma once
// The kubelet's eviction manager (hard and soft thresholds): every housekeeping period it observes
// the eviction signals (memory.available, nodefs.available, nodefs.inodesFree, imagefs.available,
// pid.available) from the node's statistics, reports MemoryPressure / DiskPressure / PIDPressure
// while a threshold is crossed (and for evictionPressureTransitionPeriod after, so a node does
// not flap), and evicts at most one pod per period, ranked as the kubelet ranks them: pods whose
// usage of the starved resource exceeds their requests first, then lower priority, then the
// largest usage above requests. The evicted pod is stopped at once (hard eviction: no grace; a
// soft threshold evicts once crossed for its evictionSoftGracePeriod, the pod stopped within its
// grace period capped at evictionMaxPodGracePeriod), its local state freed, and its status set
// Failed with reason Evicted and the kubelet's message.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "kubelet/node/node_info.hpp"
#include "kubelet/node/stats.hpp"

namespace skiff::kubelet::node {

struct Threshold {
  std::string signal;    // memory.available, nodefs.available, …
  int64_t quantity = 0;  // bytes (pids for pid.available), when percent is 0
  double percent = 0;    // of the signal's capacity
  std::string text;      // as written ("100Mi", "10%")
};

// The kubelet's Linux defaults: memory.available<100Mi, nodefs.available<10%,
// nodefs.inodesFree<5%, imagefs.available<15%.
std::vector<Threshold> default_eviction_hard();
// KubeletConfiguration's evictionHard map ({"memory.available": "200Mi", "nodefs.available":
// "10%"}); an unknown signal or a bad value is an error naming it. As the kubelet does, signals
// the map leaves out keep no threshold.
Result<std::vector<Threshold>> parse_eviction_hard(const Json& map);
// The same for another field's map (evictionSoft); errors name `field`.
Result<std::vector<Threshold>> parse_eviction_thresholds(const char* field, const Json& map);

struct Observation {
  int64_t available = 0, capacity = 0;
};
// Every signal's observation from the node's figures.
std::map<std::string, Observation> observe_signals(const NodeUsage& u);
// True when `o` is below the threshold.
bool threshold_crossed(const Threshold& t, const Observation& o);
// The resource a signal starves: memory, ephemeral-storage or pids.
std::string starved_resource(const std::string& signal);

struct EvictionCandidate {
  std::string uid, name, namespace_, qos_class;
  int32_t priority = 0;
  int64_t grace_seconds = 30;      // spec.terminationGracePeriodSeconds
  int64_t usage = 0, request = 0;  // of the starved resource
  std::string top_container;       // the container using most, for the message
  int64_t top_container_usage = 0, top_container_request = 0;
};
// Sorts: usage above requests first, then lower priority, then more usage above requests.
void rank_for_eviction(std::vector<EvictionCandidate>& pods);
// "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi.
// Container c was using 60Mi, request is 0, has larger consumption of memory. "
std::string eviction_message(const std::string& resource, const Threshold& t, const Observation& o,
                             const EvictionCandidate& c);
// A quantity as the kubelet prints one (Ki/Mi/Gi when exact, else the number).
std::string format_quantity(int64_t v);

struct EvictionOptions {
  std::vector<Threshold> hard = default_eviction_hard();
  std::chrono::milliseconds transition_period{std::chrono::minutes(5)};
  std::vector<Threshold> soft;                                  // evictionSoft
  std::map<std::string, std::chrono::milliseconds> soft_grace;  // evictionSoftGracePeriod
  int64_t max_pod_grace_seconds = 0;                            // evictionMaxPodGracePeriod
};

class EvictionManager {
 public:
  // `grace_seconds`: how long the pod's containers get to stop (0: killed at once).
  using Evict = std::function<Result<void>(const std::string& uid, const std::string& message,
                                           int64_t grace_seconds)>;
  EvictionManager(StatsProvider& stats, EvictionOptions o) : stats_(stats), o_(std::move(o)) {}
  // One pass over `pods` (the API's pods bound here); returns the uid evicted, if any.
  std::optional<std::string> synchronize(const std::vector<Json>& pods, const Evict& evict);
  NodePressure pressure() const;

 private:
  StatsProvider& stats_;
  EvictionOptions o_;
  mutable std::mutex mu_;
  NodePressure pressure_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_seen_;   // signal -> crossed
  std::map<std::string, std::chrono::steady_clock::time_point> soft_since_;  // soft: crossed since
};

// The node taints for `p` (node.kubernetes.io/memory-pressure etc., NoSchedule) merged into the
// Node's current `taints`: others kept, ours added or removed.
Json pressure_taints(const Json& taints, const NodePressure& p);

}  // namespace skiff::kubelet::node
