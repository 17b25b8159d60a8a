#pragma once
// The ReplicaSet and Deployment controllers. ReplicaSet: keep spec.replicas pods stamped from the
// template (controller ownerReferences), report replicas/ready/available. Deployment: one
// ReplicaSet per pod template (pod-template-hash), RollingUpdate within maxSurge/maxUnavailable or
// Recreate, revision annotations, and the status and conditions `kubectl rollout status` reads.
// Ownership indexes are kept from the watch stream, so a sync never scans the store.

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "master/registry/registry.hpp"

namespace skiff::master {

// kube's pod-template-hash: a short stable hash of the template (FNV-1a, base36-ish alphabet).
std::string pod_template_hash(const Json& template_spec);
// Resolves an IntOrString like "25%" against `total` (round up for surge, down otherwise).
int64_t resolve_int_or_percent(const Json& value, int64_t total, bool round_up);
// A pod counts as available when its Ready condition is True.
bool pod_ready(const Json& pod);

class WorkloadControllers {
 public:
  explicit WorkloadControllers(Registry& registry) : registry_(registry) {}
  ~WorkloadControllers() { stop(); }
  Result<void> start();
  void stop();

 private:
  void run();
  void observe(const WatchEvent& e);
  void index(const std::string& key, const Json* object, int64_t create_rev = 0);
  void sync_replicaset(const std::string& key);
  void sync_deployment(const std::string& key);
  std::vector<Object> owned(const std::string& uid, const std::string& prefix);
  // What a ReplicaSet sync reads of a pod, kept from the watch (as kube's pod lister): a sync
  // of a 30-pod set used to fetch and parse all 30 pods again at each of their status changes.
  struct PodSummary {
    std::string name;
    bool deleting = false;
    bool scheduled = false;
    bool ready = false;
    int64_t create_rev = 0;
  };
  std::vector<PodSummary> owned_pods(const std::string& uid) const;
  Result<Object> scale_replicaset(const Object& rs, int64_t replicas);

  Registry& registry_;
  std::shared_ptr<Watcher> watcher_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::map<std::string, std::set<std::string>> children_;  // controller uid -> keys
  std::map<std::string, std::string> controller_of_;       // key -> controller uid
  std::map<std::string, std::string> uid_key_;             // uid -> key (rs, deployments)
  std::map<std::string, PodSummary> pods_;                 // key -> owned pod, as last seen
  std::set<std::string> queue_;
};

}  // namespace skiff::master
