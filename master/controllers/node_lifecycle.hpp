#pragma once
// The node lifecycle controller: a node whose Lease (kube-node-lease/<node>) is not renewed for
// the grace period (40 s) becomes Ready=Unknown with the unreachable NoSchedule/NoExecute taints;
// its pods are evicted once their toleration of the taint runs out (300 s by default). A node seen
// renewing again loses the taints. It also gives every node a pod CIDR from --cluster-cidr
// (spec.podCIDR; the overlay routes by it).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "master/registry/registry.hpp"

namespace skiff::master {

struct NodeLifecycleOptions {
  std::chrono::milliseconds grace{std::chrono::seconds(40)};
  std::chrono::milliseconds period{std::chrono::seconds(5)};
  std::string cluster_cidr = "10.244.0.0/16";
  int node_cidr_prefix = 24;
};

// Hands out one subnet per node from the cluster CIDR.
class PodCidrAllocator {
 public:
  static Result<PodCidrAllocator> parse(const std::string& cidr, int node_prefix);
  // Marks a CIDR already written to a node as taken.
  void claim(const std::string& cidr);
  std::optional<std::string> allocate();

 private:
  uint32_t base_ = 0;
  uint32_t count_ = 0;
  int prefix_ = 24;
  std::set<uint32_t> used_;
};

class NodeLifecycle {
 public:
  static Result<std::unique_ptr<NodeLifecycle>> create(Registry& registry,
                                                       NodeLifecycleOptions options);
  ~NodeLifecycle() { stop(); }
  void start();
  void stop();
  // One pass over the nodes (exposed for tests).
  void reconcile(std::chrono::system_clock::time_point now);

 private:
  NodeLifecycle(Registry& r, NodeLifecycleOptions o, PodCidrAllocator a)
      : registry_(r), options_(o), cidrs_(std::move(a)) {}
  void mark_unreachable(const Json& node);
  void mark_reachable(const Json& node);
  void evict(const std::map<std::string, std::chrono::system_clock::time_point>& unreachable_since,
             std::chrono::system_clock::time_point now);

  Registry& registry_;
  NodeLifecycleOptions options_;
  PodCidrAllocator cidrs_;
  std::map<std::string, std::chrono::system_clock::time_point> first_seen_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace skiff::master
