#pragma once
// What the Node object says about this host: capacity and allocatable (cpu, memory, pods,
// ephemeral-storage), addresses, nodeInfo (kernel, OS image, skiff://VERSION) and conditions.

#include <string>

#include "common/json_util.hpp"

namespace skiff::kubelet::node {

struct NodeFacts {
  std::string name;
  std::string ip;           // InternalIP
  std::string hostname;     // Hostname address
  std::string storage_dir;  // ephemeral-storage: the filesystem holding it
  int max_pods = 110;
  int64_t reserved_cpu_milli = 0;
  int64_t reserved_memory = 0;  // bytes
  std::string version = "0.1.0";
};

// What the eviction manager reports (eviction.hpp): the pressure conditions' status.
struct NodePressure {
  bool memory = false, disk = false, pid = false;
  bool operator==(const NodePressure&) const = default;
};

// The status fields the kubelet owns, conditions with `now` as their heartbeat. Pressure sets
// MemoryPressure / DiskPressure / PIDPressure; Ready stays True (the kubelet's Ready is about the
// runtime and the network, not pressure).
Json node_status(const NodeFacts& f, const std::string& now, const NodePressure& p = {});
// Conditions and every timestamp removed: what "the status changed" compares.
Json status_fingerprint(const Json& status);

// The IPv4 source address this host uses to reach `host` (no packet sent), "" when none.
std::string source_address_for(const std::string& host);

}  // namespace skiff::kubelet::node
