#pragma once
// The scheduler: unbound pods -> filters (node Ready and schedulable, taints/tolerations,
// nodeSelector, required node affinity, requests fit allocatable, pod count, host ports) ->
// scores (least allocated, spread of one owner's pods) -> Binding. A pod that fits nowhere gets
// PodScheduled=False and a FailedScheduling event with kube's message
// ("0/3 nodes are available: 3 Insufficient memory."). Node and pod state come from one watch;
// per-node usage is kept incrementally, so a decision never scans the store.
// As kube-scheduler's percentageOfNodesToScore: a decision filters nodes from a rotating start
// only until enough feasible ones are found (adaptive: 50% - nodes/125, at least 5% and at
// least 100 nodes) and scores those; a pod that fits on few nodes still sees every node.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "master/registry/registry.hpp"

namespace skiff::master {

struct Resources {
  int64_t cpu_milli = 0;
  int64_t memory_milli = 0;  // bytes * 1000, as parse_quantity_milli returns
  int64_t pods = 0;
};

// What the filters need from a node, parsed once per node revision.
struct NodeInfo {
  std::string name;
  Json labels;
  Json taints;  // array
  bool ready = false;
  bool unschedulable = false;
  Resources allocatable;
  Resources used;
  std::multiset<std::string> host_ports;  // "TCP/80"
  std::map<std::string, int> owner_pods;  // owner uid -> pods of it on this node
};

// Requests of a pod: the sum over its containers (init containers: the max, as kube does).
Resources pod_requests(const Json& pod);

// What the filters and scores need from a pod, read once per decision. Points into `pod`, which
// must outlive it.
struct PodInfo {
  Resources requests;
  const Json* tolerations = nullptr;     // array or nullptr
  const Json* node_selector = nullptr;   // object or nullptr
  const Json* affinity_terms = nullptr;  // required nodeSelectorTerms, non-empty array or nullptr
  bool tolerates_not_ready = false;
  std::vector<std::string> host_ports;  // "TCP/80"
  std::string owner;                    // controller owner uid
};
PodInfo pod_info(const Json& pod);
std::string filter_node(const PodInfo& pod, const NodeInfo& node);
int64_t score_node(const PodInfo& pod, const NodeInfo& node);

// kube-scheduler's numFeasibleNodesToFind: how many feasible nodes a decision looks for among
// `nodes` (`percentage` 0 = adaptive).
size_t nodes_to_find(size_t nodes, int percentage = 0);
struct Pick {
  NodeInfo* node = nullptr;            // the best scored feasible node, nullptr when none
  std::map<std::string, int> reasons;  // filter reason -> nodes it rejected
  size_t examined = 0;                 // nodes filtered (the next start moves on by this many)
};
// Filters `nodes` from index `start` (wrapping) until `want` feasible nodes are found or every
// node was tried, and picks the best scored of those (ties: one at random, from `seed`).
Pick pick_node(const PodInfo& pod, const std::vector<NodeInfo*>& nodes, size_t start, size_t want,
               uint64_t seed = 0);
// Empty when `pod` may run on `node`; else the reason kube prints ("Insufficient memory").
std::string filter_node(const Json& pod, const Resources& requests, const NodeInfo& node);
// 0..100: higher is better (least allocated, then spreading one owner's pods).
int64_t score_node(const Json& pod, const Resources& requests, const NodeInfo& node);
// "0/3 nodes are available: 1 node(s) didn't match node selector, 2 Insufficient memory."
std::string unschedulable_message(size_t nodes, const std::map<std::string, int>& reasons);

class Scheduler {
 public:
  explicit Scheduler(Registry& registry) : registry_(registry) {}
  ~Scheduler() { stop(); }
  Result<void> start();
  void stop();

 private:
  void run();
  void observe(const WatchEvent& e);
  // A pod's usage counted on its node.
  struct Placement {
    std::string node;
    Resources requests;
    std::vector<std::string> host_ports;
    std::string owner;
    bool tentative = false;  // counted by our decision, its binding not yet seen
  };
  static Placement placement_of(const Json& pod, const std::string& node);
  void account(const Placement& p, int sign);
  // Picks a node for the pod at `key` and counts it there at once (so the next pod of the batch
  // sees the usage); nullopt when it needs no scheduling or fits nowhere.
  struct Decision {
    std::string key, ns, name, node;
  };
  std::optional<Decision> schedule(const std::string& key);
  // Hands the decisions to the binder threads and returns at once: the loop goes on deciding
  // while bindings are in flight (each a store write; with etcd a round trip), so as many
  // bindings overlap as there are binders (etcd and the store's group commit batch them).
  void bind_all(std::vector<Decision>& decisions);
  void binder();
  // Takes back the usage of decisions whose binding failed (unless an event replaced it).
  void settle_failed();
  void mark_unschedulable(const Json& pod, const std::string& message);

  Registry& registry_;
  std::shared_ptr<Watcher> watcher_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::map<std::string, NodeInfo> nodes_;
  std::vector<NodeInfo*> order_;  // nodes_ in name order, for the rotating start
  bool order_dirty_ = true;
  size_t next_start_ = 0;
  uint64_t decisions_ = 0;
  std::map<std::string, Placement> bound_;  // pod key -> its usage counted on a node
  std::set<std::string> pending_;           // unbound pod keys
  std::set<std::string> unschedulable_;     // tried, nothing fit

  static constexpr size_t kBinders = 32;
  std::vector<std::thread> binders_;
  std::mutex bind_mu_;
  std::condition_variable bind_cv_;
  std::deque<Decision> bind_queue_;
  std::vector<std::string> failed_;  // pod keys whose binding failed
  bool binders_stop_ = false;
};

}  // namespace skiff::master
